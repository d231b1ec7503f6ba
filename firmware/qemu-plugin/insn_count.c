/*
 * insn_count: a QEMU TCG plugin that counts executed guest instructions
 * and reports the count at every stage mark of the sonomask board image.
 *
 * A stage mark is the instruction `movw r12, #imm16` with imm16 in
 * base+1 .. base+15 (base 0x5A50 unless `base=` says otherwise; see
 * sonomask_firmware::board::STAGE_MARK_BASE). For each mark executed the
 * plugin writes one line
 *
 *     mark <stage> <instructions executed before the mark>
 *
 * and at exit `total <instructions>`, to the file given by `out=PATH`
 * (default: stderr). The HIL rig turns consecutive marks into
 * per-stage, per-frame counts. Run QEMU with `-icount shift=0` so time is
 * deterministic too; the counts are exact and repeatable either way.
 *
 * Counting: every translated block adds its instruction count inline
 * when it starts; a mark at index i of an n-instruction block subtracts
 * the n - i instructions of its block not yet executed.
 *
 * QEMU's plugin header (qemu-plugin.h) is not packaged by Debian, so the
 * few declarations of plugin API version 1 (QEMU 7.x to 8.1) used here
 * are written out below. Build: gcc -shared -fPIC -O2 -o insn_count.so insn_count.c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API, version 1 (declarations only) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct {
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
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
/* ---- end of the API declarations ---- */

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;
static FILE *out;
static unsigned mark_base = 0x5A50;

/*
 * Profiling, only when the environment names a file in
 * SONOMASK_QEMU_PROFILE: instructions executed per translated block and
 * per stage (the stage of the last mark), written at exit as
 * `tb <vaddr> <insns in block> <stage0> .. <stage5>` lines, to be summed per
 * function against the image's symbols (scripts/qemu-profile.py). Slower:
 * a callback per executed block instead of an inline add.
 */
#define STAGES 6
struct tb_rec {
    uint64_t vaddr;
    uint64_t n;
    uint64_t insns[STAGES];
    struct tb_rec *next;
};
static struct tb_rec *tb_recs;
static FILE *profile;
static unsigned cur_stage;

static void on_tb_profile(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    struct tb_rec *r = udata;
    r->insns[cur_stage] += r->n;
}

/* The stage of a `movw r12, #imm16` mark (Thumb-2 encoding T3), or -1. */
static int mark_stage(const struct qemu_plugin_insn *insn)
{
    if (qemu_plugin_insn_size(insn) != 4) {
        return -1;
    }
    const uint8_t *b = qemu_plugin_insn_data(insn);
    unsigned hw1 = b[0] | (b[1] << 8);
    unsigned hw2 = b[2] | (b[3] << 8);
    if ((hw1 & 0xFBF0) != 0xF240 || (hw2 & 0x8000) != 0 || ((hw2 >> 8) & 0xF) != 12) {
        return -1;
    }
    unsigned imm = ((hw1 & 0xF) << 12) | (((hw1 >> 10) & 1) << 11) | (((hw2 >> 12) & 7) << 8) |
                   (hw2 & 0xFF);
    if (imm <= mark_base || imm > mark_base + 15) {
        return -1;
    }
    return (int)(imm - mark_base);
}

static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    uintptr_t u = (uintptr_t)udata;
    uint64_t not_yet = u >> 8;
    if ((u & 0xFF) < STAGES) {
        cur_stage = (unsigned)(u & 0xFF);
    }
    fprintf(out, "mark %u %llu\n", (unsigned)(u & 0xFF),
            (unsigned long long)(executed - not_yet));
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    if (profile) {
        struct tb_rec *r = calloc(1, sizeof *r);
        if (r) {
            r->vaddr = qemu_plugin_tb_vaddr(tb);
            r->n = n;
            r->next = tb_recs;
            tb_recs = r;
            qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_profile, QEMU_PLUGIN_CB_NO_REGS, r);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        int stage = mark_stage(insn);
        if (stage >= 0) {
            uintptr_t u = (uintptr_t)stage | ((uintptr_t)(n - i) << 8);
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)u);
        }
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    fprintf(out, "total %llu\n", (unsigned long long)executed);
    fflush(out);
    if (out != stderr) {
        fclose(out);
    }
    if (profile) {
        for (struct tb_rec *r = tb_recs; r; r = r->next) {
            fprintf(profile, "tb %llx %llu", (unsigned long long)r->vaddr, (unsigned long long)r->n);
            for (int s = 0; s < STAGES; s++) {
                fprintf(profile, " %llu", (unsigned long long)r->insns[s]);
            }
            fputc('\n', profile);
        }
        fclose(profile);
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv)
{
    (void)info;
    out = stderr;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            FILE *f = fopen(argv[i] + 4, "w");
            if (!f) {
                fprintf(stderr, "insn_count: cannot open %s\n", argv[i] + 4);
                return -1;
            }
            out = f;
        } else if (strncmp(argv[i], "base=", 5) == 0) {
            mark_base = (unsigned)strtoul(argv[i] + 5, NULL, 0);
        } else {
            fprintf(stderr, "insn_count: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    const char *prof = getenv("SONOMASK_QEMU_PROFILE");
    if (prof && *prof) {
        profile = fopen(prof, "w");
        if (!profile) {
            fprintf(stderr, "insn_count: cannot open %s\n", prof);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
