/* What `sim report` and `sim identity` share (sim-launch.c), and the
 * identity subcommand that the sim command table lists. */
#pragma once

#include <glib.h>

/* The launch values a simulated report carries, as given on the command
 * line (NULL: not given, the field stays zero; measurement is required). */
typedef struct {
    const char *measurement, *host_data, *family_id, *image_id, *id_key_digest, *author_key_digest;
} SnpgSimLaunchArgs;

/* Decodes them; prints the error and returns FALSE on bad hex. */
gboolean snpg_sim_launch_args_parse(const SnpgSimLaunchArgs *a, guint8 measurement[48],
                                    guint8 host_data[32], guint8 family_id[16],
                                    guint8 image_id[16], guint8 id_key_digest[48],
                                    guint8 author_key_digest[48]);

int snpg_cmd_sim_identity_run(int argc, char **argv);
