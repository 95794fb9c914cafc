/* Helper for bench/history: fills a registry, measures the floor, times
 * commands. Times are printed as "WALL_NS CPU_NS" of the fastest run (wall
 * clock), after one warm-up run: on a shared machine the CPU time (user +
 * system) says more than the wall clock.
 *   bench-history seed STATE_DIR N      one VM ("bench") with N events and N
 *                                       more spread over 9 other VMs,
 *                                       interleaved; every twentieth event
 *                                       carries report bytes (1184).
 *   bench-history floor STATE_DIR RUNS  the floor for 'history bench':
 *                                       SQLite alone stepping through the
 *                                       same rows (same columns, same order)
 *                                       and printing each as one line to
 *                                       /dev/null, in this process.
 *   bench-history time RUNS CMD ARG...  CMD run RUNS times, output to
 *                                       /dev/null. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "registry.h"

#define BENCH_VM "bench"

static void
die(const char *what, GError *error)
{
    fprintf(stderr, "bench-history: %s: %s\n", what, error ? error->message : "failed");
    exit(1);
}

static int
seed(const char *state, guint64 n)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, SNPG_REGISTRY_OPEN_CREATE, &error);
    g_autoptr(SnpgVmRecord) rec = snpg_vm_record_new(BENCH_VM);
    g_autoptr(GBytes) report = NULL;
    guint8 bytes[1184];
    static const char *const verdict_reasons[] = { "measurement", "tcb-mismatch", NULL };
    gint64 t0 = G_GINT64_CONSTANT(1796000000000000);

    if (!reg)
        die("open", error);
    for (gsize i = 0; i < sizeof(bytes); i++)
        bytes[i] = (guint8)(i * 7);
    report = g_bytes_new(bytes, sizeof(bytes));
    rec->uuid = g_strdup("6f1c5a8e-1f6b-4c3e-9a51-0c2f9f1d7a01");
    rec->workflow = g_strdup("encrypted");
    rec->expected_measurement = g_strnfill(96, 'a');
    rec->failure_action = g_strdup("destroy");
    /* One transaction: seeding is not what is measured. */
    if (!snpg_registry_begin(reg, &error) || !snpg_registry_add_vm(reg, rec, &error))
        die("seed", error);
    for (guint64 i = 0; i < 2 * n; i++) {
        g_autofree char *other = g_strdup_printf("other-%u", (unsigned)(i % 9));
        g_autoptr(SnpgEvent) ev = snpg_event_new(i % 10 == 9 ? SNPG_EVENT_KEY_RELEASE
                                                              : SNPG_EVENT_ATTESTATION,
                                                 i % 2 ? other : BENCH_VM);

        ev->time = t0 + (gint64)i * 1000;
        ev->verdict = i % 3 ? SNPG_VERDICT_ACCEPTED : SNPG_VERDICT_REJECTED;
        if (ev->verdict == SNPG_VERDICT_REJECTED)
            ev->reasons = g_strdupv((char **)verdict_reasons);
        ev->measurement = g_strnfill(96, i % 3 ? 'a' : 'b');
        ev->has_tcb = TRUE;
        ev->tcb = G_GUINT64_CONSTANT(0xdb18000000000004);
        ev->chip_id = g_strnfill(128, 'c');
        ev->boot_id = g_strdup_printf("boot-%" G_GUINT64_FORMAT, i / 4);
        if (i % 20 == 0)
            ev->report = g_bytes_ref(report);
        if (!snpg_registry_add_event(reg, ev, &error))
            die("seed", error);
    }
    if (!snpg_registry_commit(reg, &error))
        die("commit", error);
    return 0;
}

static gint64
cpu_ns(const struct rusage *ru)
{
    return ((gint64)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000 +
           ((gint64)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000;
}

typedef struct {
    gint64 wall, cpu;
} Sample;

static void
keep_best(Sample *best, Sample s)
{
    if (best->wall == 0 || s.wall < best->wall)
        *best = s;
}

/* The columns 'history' shows, in its order (the summary query). */
static Sample
floor_once(sqlite3 *db, FILE *out)
{
    static const char sql[] =
        "SELECT id, time, vm, vm_uuid, kind, verdict, reasons, detail FROM events"
        " WHERE vm = ? ORDER BY id";
    sqlite3_stmt *stmt = NULL;
    struct rusage r0, r1;
    gint64 start = g_get_monotonic_time();
    guint64 rows = 0;

    getrusage(RUSAGE_SELF, &r0);
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        die("prepare", NULL);
    sqlite3_bind_text(stmt, 1, BENCH_VM, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *verdict = (const char *)sqlite3_column_text(stmt, 5);
        const char *reasons = (const char *)sqlite3_column_text(stmt, 6);
        const char *detail = (const char *)sqlite3_column_text(stmt, 7);

        fprintf(out, "%lld %s %s %s %s %s\n", (long long)sqlite3_column_int64(stmt, 1),
                (const char *)sqlite3_column_text(stmt, 2),
                (const char *)sqlite3_column_text(stmt, 4), verdict ? verdict : "-",
                reasons ? reasons : "-", detail ? detail : "");
        rows++;
    }
    sqlite3_finalize(stmt);
    fflush(out);
    if (rows == 0)
        die("floor: no rows", NULL);
    getrusage(RUSAGE_SELF, &r1);
    return (Sample){ (g_get_monotonic_time() - start) * 1000, cpu_ns(&r1) - cpu_ns(&r0) };
}

static int
measure_floor(const char *state, guint64 runs)
{
    g_autofree char *path = g_build_filename(state, SNPG_REGISTRY_FILE, NULL);
    FILE *out = fopen("/dev/null", "w");
    sqlite3 *db = NULL;
    Sample best = { 0, 0 };

    if (!out || sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("open", NULL);
    /* As the registry reads: through a memory map. */
    sqlite3_exec(db, "PRAGMA mmap_size = 268435456", NULL, NULL, NULL);
    floor_once(db, out);    /* warm-up: pages in the cache */
    for (guint64 i = 0; i < runs; i++)
        keep_best(&best, floor_once(db, out));
    sqlite3_close(db);
    fclose(out);
    printf("%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", best.wall, best.cpu);
    return 0;
}

static Sample
time_once(char **argv)
{
    struct rusage ru;
    gint64 start = g_get_monotonic_time();
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die(argv[0], NULL);
    return (Sample){ (g_get_monotonic_time() - start) * 1000, cpu_ns(&ru) };
}

static int
measure_command(guint64 runs, char **argv)
{
    Sample best = { 0, 0 };

    time_once(argv);    /* warm-up */
    for (guint64 i = 0; i < runs; i++)
        keep_best(&best, time_once(argv));
    printf("%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", best.wall, best.cpu);
    return 0;
}

int
main(int argc, char **argv)
{
    guint64 n = 0;

    if (argc == 4 && g_str_equal(argv[1], "seed") &&
        g_ascii_string_to_unsigned(argv[3], 10, 1, 10000000, &n, NULL))
        return seed(argv[2], n);
    if (argc == 4 && g_str_equal(argv[1], "floor") &&
        g_ascii_string_to_unsigned(argv[3], 10, 1, 1000, &n, NULL))
        return measure_floor(argv[2], n);
    if (argc >= 4 && g_str_equal(argv[1], "time") &&
        g_ascii_string_to_unsigned(argv[2], 10, 1, 1000, &n, NULL))
        return measure_command(n, argv + 3);
    fprintf(stderr, "usage: bench-history seed STATE_DIR N | floor STATE_DIR RUNS |"
                    " time RUNS CMD [ARG...]\n");
    return 2;
}
