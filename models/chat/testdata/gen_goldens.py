#!/usr/bin/env python3
"""Writes realtemplates_data_test.go: real model chat templates and the
prompts Python's jinja2 renders from them with the settings of Hugging Face
transformers' apply_chat_template (sandboxed environment, trim_blocks,
lstrip_blocks, loop controls, tojson with ensure_ascii=False,
raise_exception, strftime_now fixed to 26 Jul 2024).

For a template without a system role (it raises, or drops the system
message) the system message is merged into the first user message with
"\n" between, as llama.cpp does, before rendering. A template that renders
a system message only when contents are lists of {"type": "text"} parts
(an older Gemma 3 template) gets every content in that form.

It also renders toolConversations (tools, tool calls and results,
reasoning, enable_thinking) the way edgeai passes them (see chatVars and
hf_messages): a template that raises gives "\x00error: ..." as its golden.

Usage: gen_goldens.py templates > ../realtemplates_data_test.go
where templates holds the .jinja files named in CASES (the models'
tokenizer.chat_template; see the sources and licences in CASES and in
templates/README.md).
"""
import datetime, json, os, sys
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import Extension, loopcontrols

class Generation(Extension):
    """Hugging Face's {% generation %} block (AssistantTracker): renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        next(parser.stream)
        return parser.parse_statements(["name:endgeneration"], drop_needle=True)

class Raised(Exception):
    pass

def raise_exception(m):
    raise Raised(m)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, Generation])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    e.globals["strftime_now"] = lambda f: datetime.datetime(2024, 7, 26).strftime(f)
    return e

# (name, file, bos, eos, family Detect should find, source; licence)
CASES = [
    ("google/gemma-2-2b-it", "gemma2_2b.jinja", "<bos>", "<eos>", "gemma", "llama.cpp models/templates/google-gemma-2-2b-it.jinja; Gemma Terms of Use"),
    ("google/gemma-3-1b-it", "gemma3_1b.jinja", "<bos>", "<eos>", "gemma", "GGUF tokenizer.chat_template (huggingface.js ollama-utils chat-template-automap.ts); Gemma Terms of Use"),
    ("google/gemma-3-270m-it", "gemma3_270m.jinja", "<bos>", "<eos>", "gemma", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/gemma3:270m); Gemma Terms of Use"),
    ("microsoft/Phi-3.5-mini-instruct", "phi3.5_3.8b.jinja", "<s>", "<|endoftext|>", "phi3", "llama.cpp models/templates/microsoft-Phi-3.5-mini-instruct.jinja; MIT"),
    ("microsoft/Phi-3-mini-4k-instruct", "phi3_3.8b.jinja", "<s>", "<|endoftext|>", "phi3", "GGUF tokenizer.chat_template (chat-template-automap.ts); MIT"),
    ("microsoft/Phi-4-mini-instruct", "phi4-mini_3.8b.jinja", "<|endoftext|>", "<|endoftext|>", "phi4-mini", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/phi4-mini:3.8b); MIT"),
    ("meta-llama/Llama-3.2-3B-Instruct", "llama3.2_3b.jinja", "<|begin_of_text|>", "<|eot_id|>", "llama3.1", "GGUF tokenizer.chat_template (chat-template-automap.ts); llama.cpp models/templates has the same; Llama 3.2 Community License"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama3.1_8b.jinja", "<|begin_of_text|>", "<|eot_id|>", "llama3.1", "GGUF tokenizer.chat_template (chat-template-automap.ts); Llama 3.1 Community License"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3_8b.jinja", "<|begin_of_text|>", "<|eot_id|>", "llama3", "GGUF tokenizer.chat_template (chat-template-automap.ts); Meta Llama 3 Community License"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama2_7b.jinja", "<s>", "</s>", "llama2", "GGUF tokenizer.chat_template (chat-template-automap.ts); Llama 2 Community License"),
    ("HuggingFaceH4/zephyr-7b-beta", "e2e_zephyr-7b-beta.jinja", "<s>", "</s>", "zephyr", "huggingface.js packages/jinja/test/e2e.test.js; MIT"),
    ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "tinyllama_1.1b.jinja", "<s>", "</s>", "zephyr", "GGUF tokenizer.chat_template (chat-template-automap.ts); Apache-2.0"),
    ("Qwen/Qwen2.5-7B-Instruct", "e2e_Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>", "chatml", "huggingface.js packages/jinja/test/e2e.test.js; Apache-2.0"),
    ("Qwen/Qwen2-0.5B-Instruct", "qwen2_0.5b.jinja", "", "<|im_end|>", "chatml", "GGUF tokenizer.chat_template (chat-template-automap.ts); Apache-2.0"),
    ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2_135m.jinja", "<|im_start|>", "<|im_end|>", "chatml", "GGUF tokenizer.chat_template (chat-template-automap.ts); Apache-2.0"),
    ("NousResearch/Hermes-3-Llama-3.1-70B", "hermes3_70b.jinja", "<|begin_of_text|>", "<|im_end|>", "chatml", "GGUF tokenizer.chat_template (chat-template-automap.ts); Llama 3.1 Community License"),
    ("mistralai/Mistral-7B-Instruct-v0.1", "e2e_Mistral-7B-Instruct-v0.1-GPTQ.jinja", "<s>", "</s>", "mistral", "huggingface.js packages/jinja/test/e2e.test.js; Apache-2.0"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "e2e_Mixtral-8x7B-Instruct-v0.1.jinja", "<s>", "</s>", "mistral", "huggingface.js packages/jinja/test/e2e.test.js; Apache-2.0"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral-7b-v0.3.jinja", "<s>", "</s>", "jinja", "huggingface/swift-jinja Tests ChatTemplates.swift (mistral7b: the v0.3 template with [AVAILABLE_TOOLS]); Apache-2.0"),
    ("mistralai/Mistral-Nemo-Instruct-2407", "mistral-nemo_2407.jinja", "<s>", "</s>", "mistral-v3-tekken", "llama.cpp models/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja; Apache-2.0"),
    ("Qwen/Qwen3-0.6B", "qwen3_0.6b.jinja", "", "<|im_end|>", "qwen3", "GGUF tokenizer.chat_template (chat-template-automap.ts); llama.cpp models/templates/Qwen-Qwen3-0.6B.jinja has the same; Apache-2.0"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-r1_8b.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "jinja", "GGUF tokenizer.chat_template (chat-template-automap.ts); MIT"),
    ("HuggingFaceTB/SmolLM3-3B", "smollm3_3b.jinja", "", "<|im_end|>", "smollm3", "the Hugging Face template, as huggingface/swift-jinja Tests ChatTemplates.swift quotes it (smollm3); Apache-2.0"),
    ("HuggingFaceTB/SmolLM3-3B (GGUF)", "smollm3_3b_gguf.jinja", "", "<|im_end|>", "smollm3", "the same with \"[:]\" removed, as llama.cpp's convert_hf_to_gguf.py writes it into GGUFs; Apache-2.0"),
    ("ibm-granite/granite-3.0-2b-instruct", "granite3-dense_2b.jinja", "<|end_of_text|>", "<|end_of_text|>", "jinja", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/granite3-dense:2b); Apache-2.0"),
    ("ibm-granite/granite-3.1-1b-a400m-instruct", "granite3.1-moe_1b.jinja", "<|end_of_text|>", "<|end_of_text|>", "granite", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/granite3.1-moe:1b); Apache-2.0"),
    ("ibm-granite/granite-3.2-8b-instruct", "granite3.2_8b.jinja", "<|end_of_text|>", "<|end_of_text|>", "granite", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/granite3.2:8b); Apache-2.0"),
    ("ibm-granite/granite-3.3-2b-instruct", "granite3.3_2b.jinja", "<|end_of_text|>", "<|end_of_text|>", "granite", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/granite3.3:2b); Apache-2.0"),
    ("ibm-granite/granite-3.3-2b-instruct (llama.cpp)", "granite3.3_2b_hf.jinja", "<|end_of_text|>", "<|end_of_text|>", "granite", "llama.cpp models/templates/ibm-granite-granite-3.3-2B-Instruct.jinja; Apache-2.0"),
    ("LiquidAI/LFM2-350M", "lfm2_350m.jinja", "<|startoftext|>", "<|im_end|>", "lfm2", "the Hugging Face template as ml-explore-based raclate's LFM2 example quotes it; llama.cpp's test of LFM2 renders the same prompt; LFM Open License v1.0"),
    ("allenai/OLMo-2-1124-7B-Instruct", "olmo2_7b.jinja", "<|endoftext|>", "<|endoftext|>", "olmo2", "GGUF tokenizer.chat_template (chat-template-automap.ts, library/olmo2:7b); Apache-2.0"),
]

SYS = {"role": "system", "content": "You are a helpful assistant"}
CONV = [SYS,
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "Who are you"},
        {"role": "assistant", "content": "   I am an assistant   "},
        {"role": "user", "content": "Another question"}]
CONVS = [  # (messages, add_generation_prompt)
    (CONV, True),
    (CONV[1:4], False),
    ([{"role": "user", "content": " What is 2+2? "}], True),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], True),
]

def render(t, msgs, gen, bos, eos, tools=None, thinking=None):
    """Renders as Hugging Face's apply_chat_template does (tools and
    documents always passed, None when absent), with edgeai's conventions:
    xml_tools (SmolLM3) is the tools, enable_thinking and thinking the
    switch when set."""
    kw = dict(messages=msgs, add_generation_prompt=gen, bos_token=bos, eos_token=eos, tools=tools, documents=None)
    if tools:
        kw["xml_tools"] = tools
    if thinking is not None:
        kw["enable_thinking"] = thinking
        kw["thinking"] = thinking
    return t.render(**kw)

def typed(msgs):
    return [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]} for m in msgs]

def supports_system(t, bos, eos, as_parts=False):
    needle = "probe-system-text"
    m = [{"role": "system", "content": needle}, {"role": "user", "content": "x"}]
    try:
        return needle in render(t, typed(m) if as_parts else m, True, bos, eos)
    except Exception:
        return False

def go(s):
    return json.dumps(s, ensure_ascii=False).replace("\u2028", "\\u2028")

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city (température, vent)",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Get the time", "parameters": {"type": "object", "properties": {}}}},
]

def call(id, name, args):
    return {"id": id, "name": name, "arguments": args}

Q = {"role": "user", "content": "What's the weather in Paris?"}
CALL = {"role": "assistant", "content": "", "tool_calls": [call("call00001", "get_weather", '{"city": "Paris", "unit": "celsius"}')]}
RESULT = {"role": "tool", "content": '{"temperature": 21, "sky": "clear"}', "tool_call_id": "call00001", "name": "get_weather"}
ANSWER = {"role": "assistant", "content": "It is 21 °C and clear in Paris."}
# (messages, add_generation_prompt, tools, enable_thinking): edgeai's
# Messages (reasoning, tool_calls with JSON text arguments, tool_call_id, name).
TOOL_CONVS = [
    ([{"role": "system", "content": "You are a helpful assistant."}, Q], True, TOOLS, None),
    ([Q], True, TOOLS, None),
    ([Q, CALL, RESULT], True, TOOLS, None),
    ([{"role": "system", "content": "Be brief."}, Q, CALL, RESULT, ANSWER, {"role": "user", "content": "And the time?"}], True, TOOLS, None),
    ([Q, {"role": "assistant", "content": "Let me check both.", "tool_calls": [call("call00001", "get_weather", '{"city": "Paris"}'), call("call00002", "get_time", "{}")]},
      RESULT, {"role": "tool", "content": "12:00", "tool_call_id": "call00002", "name": "get_time"}], True, TOOLS, None),
    ([Q, CALL, RESULT, ANSWER], False, TOOLS, None),
    ([{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4", "reasoning": "2 and 2 make 4."}, {"role": "user", "content": "And 3+3?"}], True, None, None),
    ([{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "<think>\n2 and 2 make 4.\n</think>\n\n4"}, {"role": "user", "content": "And 3+3?"}], True, None, None),
    ([{"role": "user", "content": "What is 2+2?"}], True, None, False),
    ([{"role": "user", "content": "What is 2+2?"}], True, None, True),
    ([{"role": "system", "content": "Think step by step."}, Q], True, TOOLS, False),
    ([{"role": "system", "content": "Answer fast. /no_think"}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}], True, None, None),
    ([Q, {"role": "assistant", "content": "Checking.", "reasoning": "The user wants the weather.", "tool_calls": [call("call00001", "get_weather", '{"city": "Paris"}')]}, RESULT], True, TOOLS, True),
]

def hf_messages(conv, phi4_tools=None):
    """edgeai's Messages as the template variables chatVars makes."""
    out = []
    for m in conv:
        d = {"role": m["role"], "content": m["content"]}
        if m.get("reasoning"):
            d["reasoning_content"] = m["reasoning"]
        if m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                try:
                    args = json.loads(c["arguments"])
                    if not isinstance(args, dict):
                        args = c["arguments"]
                except ValueError:
                    args = c["arguments"]
                tc = {}
                if c["id"]:
                    tc["id"] = c["id"]
                tc["type"] = "function"
                tc["function"] = {"name": c["name"], "arguments": args}
                calls.append(tc)
            d["tool_calls"] = calls
        if m.get("tool_call_id"):
            d["tool_call_id"] = m["tool_call_id"]
        if m.get("name"):
            d["name"] = m["name"]
        out.append(d)
    return out

def tools_in_system(msgs, tools):
    """Phi-4-mini's form: the tools as a JSON string in the system message."""
    text = json.dumps([t["function"] for t in tools], ensure_ascii=False)
    if msgs and msgs[0]["role"] == "system":
        return [dict(msgs[0], tools=text)] + msgs[1:]
    return [{"role": "system", "content": "", "tools": text}] + msgs

def go_messages(conv):
    parts = []
    for m in conv:
        f = ["Role: %s" % go(m["role"]), "Content: %s" % go(m["content"])]
        if m.get("reasoning"):
            f.append("Reasoning: %s" % go(m["reasoning"]))
        if m.get("tool_calls"):
            f.append("ToolCalls: []ToolCall{%s}" % ", ".join("{ID: %s, Name: %s, Arguments: %s}" % (go(c["id"]), go(c["name"]), go(c["arguments"])) for c in m["tool_calls"]))
        if m.get("tool_call_id"):
            f.append("ToolCallID: %s" % go(m["tool_call_id"]))
        if m.get("name"):
            f.append("Name: %s" % go(m["name"]))
        parts.append("{" + ", ".join(f) + "}")
    return "[]Message{" + ", ".join(parts) + "}"

def main():
    d = sys.argv[1]
    print("// Code generated by testdata/gen_goldens.py with Python jinja2 %s; DO NOT EDIT." % jinja2.__version__)
    print()
    print("package chat")
    print()
    print("// toolsJSON are the tools of toolConversations.")
    print("var toolsJSON = %s" % go(json.dumps(TOOLS, ensure_ascii=False)))
    print()
    print("var toolConversations = []toolConversation{")
    for msgs, gen, tools, thinking in TOOL_CONVS:
        th = "nil" if thinking is None else ("&yes" if thinking else "&no")
        print("\t{%s, %s, %s, %s}," % (go_messages(msgs), "true" if gen else "false", "true" if tools else "false", th))
    print("}")
    print()
    print("var realTemplates = []realTemplate{")
    for name, f, bos, eos, fam, src in CASES:
        text = open(os.path.join(d, f), encoding="utf-8").read()
        t = env().from_string(text)
        sysok = supports_system(t, bos, eos)
        parts = not sysok and supports_system(t, bos, eos, True)
        phi4 = "message['tools']" in text
        def prep(m):
            if parts:
                return typed(m)
            if not sysok and m and m[0]["role"] == "system" and len(m) > 1:
                return [dict(m[1], content=m[0]["content"] + "\n" + m[1]["content"])] + m[2:]
            return m
        outs = [render(t, prep(msgs), gen, bos, eos) for msgs, gen in CONVS]
        touts = []
        for msgs, gen, tools, thinking in TOOL_CONVS:
            m = prep(hf_messages(msgs))
            if tools and phi4:
                m = tools_in_system(m, tools)
            try:
                touts.append(render(t, m, gen, bos, eos, tools, thinking))
            except Exception as ex:
                touts.append("\x00error: " + str(ex))
        print("\t{")
        print("\t\tname: %s, // %s" % (go(name), src))
        print("\t\tbos: %s, eos: %s, family: %s," % (go(bos), go(eos), go(fam)))
        print("\t\ttmpl: %s," % go(text))
        print("\t\twant: []string{")
        for o in outs:
            print("\t\t\t%s," % go(o))
        print("\t\t},")
        print("\t\ttoolWant: []string{")
        for o in touts:
            print("\t\t\t%s," % go(o))
        print("\t\t},")
        print("\t},")
    print("}")

if __name__ == "__main__":
    main()
