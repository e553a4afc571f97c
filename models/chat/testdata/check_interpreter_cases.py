#!/usr/bin/env python3
"""Checks the expectations of chat_test.go's interpreterCases against
Python's jinja2 with Hugging Face's chat template settings. Input: a JSON
list of {"Src", "Vars", "Want"} (dumped from the Go test table)."""
import json, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_goldens import env

bad = 0
for c in json.load(open(sys.argv[1])):
    try:
        got = env().from_string(c["Src"]).render(**json.loads(c["Vars"]))
    except Exception as ex:
        got = "ERROR " + repr(ex)
    if got != c["Want"]:
        bad += 1
        print("MISMATCH", repr(c["Src"]), "python:", repr(got), "want:", repr(c["Want"]))
print(len(json.load(open(sys.argv[1]))), "cases,", bad, "mismatches")
sys.exit(1 if bad else 0)
