/* The launch values of `sim report` and `sim identity`: one parser for both,
 * in a file of its own so that neither command depends on the other. */
#include "config.h"

#include "cli-util.h"
#include "cmd-sim.h"

gboolean
snpg_sim_launch_args_parse(const SnpgSimLaunchArgs *a, guint8 measurement[48],
                           guint8 host_data[32], guint8 family_id[16], guint8 image_id[16],
                           guint8 id_key_digest[48], guint8 author_key_digest[48])
{
    return snpg_cli_parse_hex("--measurement", a->measurement, measurement, 48) &&
           (!a->host_data || snpg_cli_parse_hex_padded("--host-data", a->host_data, host_data, 32)) &&
           (!a->family_id || snpg_cli_parse_hex("--family-id", a->family_id, family_id, 16)) &&
           (!a->image_id || snpg_cli_parse_hex("--image-id", a->image_id, image_id, 16)) &&
           (!a->id_key_digest ||
            snpg_cli_parse_hex("--id-key-digest", a->id_key_digest, id_key_digest, 48)) &&
           (!a->author_key_digest ||
            snpg_cli_parse_hex("--author-key-digest", a->author_key_digest, author_key_digest, 48));
}
