/* The snpguard command table: one cmd-<verb>.c per subcommand (virsh style). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* Exit codes are API for scripts: never renumber (see docs/snpguard.1). */
enum {
    SNPG_EXIT_OK = 0,
    SNPG_EXIT_ERROR = 1,    /* an input could not be read, an operation failed */
    SNPG_EXIT_USAGE = 2,    /* bad command line */
    SNPG_EXIT_REJECTED = 3, /* attestation evidence rejected */
};

/* A command runs itself (run) or is a group of subcommands (subcommands,
 * help): main() dispatches "snpguard GROUP SUB ...", prints the group's help
 * for "GROUP --help" and "help GROUP", and reports a missing or unknown
 * subcommand naming the table's entries. */
typedef struct SnpgCommand SnpgCommand;
struct SnpgCommand {
    const char *name;
    const char *summary;          /* N_() marked; translated when shown */
    int (*run)(int argc, char **argv);  /* argv[0] is the command name; NULL for a group */
    const SnpgCommand *subcommands;     /* a group's table, ended by { NULL } */
    const char *help;             /* a group's --help text, N_() marked */
};

/* Prints "snpguard: error: MESSAGE" on stderr. */
void snpg_cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Creates an option context for "snpguard NAME" with the summary and the
 * given parameter string. */
GOptionContext *snpg_cli_context_new(const char *name, const char *parameter_string,
                                     const char *summary, const GOptionEntry *entries);

/* Parses argv; on a usage error prints it and returns FALSE (exit 2).
 * A command that returns SNPG_EXIT_USAGE prints one error line only: main()
 * then adds "Run 'snpguard NAME --help' for usage." */
gboolean snpg_cli_parse(GOptionContext *ctx, int *argc, char ***argv);

/* Writes a JSON node to stdout, pretty-printed, with a trailing newline. */
void snpg_cli_print_json(JsonNode *node);

extern const SnpgCommand snpg_cmd_measure;
extern const SnpgCommand snpg_cmd_attest;
extern const SnpgCommand snpg_cmd_verifier_key;
extern const SnpgCommand snpg_cmd_report;
extern const SnpgCommand snpg_cmd_sim;
extern const SnpgCommand snpg_cmd_idblock;
extern const SnpgCommand snpg_cmd_certs;
extern const SnpgCommand snpg_cmd_define, snpg_cmd_adopt;
extern const SnpgCommand snpg_cmd_list, snpg_cmd_show, snpg_cmd_undefine;
extern const SnpgCommand snpg_cmd_history;
extern const SnpgCommand snpg_cmd_guest;
extern const SnpgCommand snpg_cmd_image;
extern const SnpgCommand snpg_cmd_hook;
extern const SnpgCommand snpg_cmd_start, snpg_cmd_watch;
