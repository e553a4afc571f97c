/*
 * insn.c: a qemu TCG plugin that counts the guest instructions a program
 * executes, for edgeai's instruction-count proxy of ARM speed (see
 * scripts/qemu-insn/measure and BENCHMARKS.md). Our own code.
 *
 * At exit it prints "insns N" on standard error. With the argument
 * profile=FILE it also writes one line per translated block, "vaddr
 * instructions executions" (hex, decimal, decimal), which measure turns
 * into instructions per function.
 *
 * Counting is a callback per executed block adding the block's instruction
 * count atomically: exact with several guest threads (the Go runtime runs
 * a few), unlike an inline add, at some cost in qemu's speed.
 *
 * The plugin API is qemu's include/qemu/qemu-plugin.h (API version 1, as
 * in qemu 7.2, Debian bookworm's qemu-user); only the few entry points
 * used here are declared below, with that header's signatures.
 *
 * Build: cc -shared -fPIC -O2 -o libinsn.so insn.c
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* The plugin API (qemu-plugin.h, version 1). */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

EXPORT int qemu_plugin_version = 1;

/* block is one translated block: its address, size and executions. */
struct block {
	uint64_t vaddr;
	uint64_t n;
	uint64_t execs;
	struct block *next;
};

static uint64_t total;          /* instructions executed */
static struct block *blocks;    /* every block translated (profile only) */
static const char *profile;     /* the profile file, or NULL */

static void exec_count(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	__atomic_fetch_add(&total, (uint64_t)(uintptr_t)udata, __ATOMIC_RELAXED);
}

static void exec_profile(unsigned int vcpu, void *udata)
{
	struct block *b = udata;
	(void)vcpu;
	__atomic_fetch_add(&total, b->n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&b->execs, 1, __ATOMIC_RELAXED);
}

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	(void)id;
	if (!profile) {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, exec_count, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
		return;
	}
	struct block *b = calloc(1, sizeof *b);
	if (!b)
		abort();
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->n = n;
	/* translation is serialised in qemu-user, but be safe */
	b->next = __atomic_load_n(&blocks, __ATOMIC_ACQUIRE);
	while (!__atomic_compare_exchange_n(&blocks, &b->next, b, false, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, exec_profile, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	char line[64];
	(void)id;
	(void)udata;
	snprintf(line, sizeof line, "insns %" PRIu64 "\n", __atomic_load_n(&total, __ATOMIC_RELAXED));
	/* qemu_plugin_outs needs -d plugin: write to standard error directly */
	fputs(line, stderr);
	if (!profile)
		return;
	FILE *f = fopen(profile, "w");
	if (!f) {
		fputs("insn: cannot write the profile\n", stderr);
		return;
	}
	for (struct block *b = blocks; b; b = b->next)
		if (b->execs)
			fprintf(f, "%016" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->n, b->execs);
	fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "profile=", 8) == 0)
			profile = argv[i] + 8;
		else {
			fprintf(stderr, "insn: unknown argument %s (want profile=FILE)\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
