/* luks-edit DEVICE MARKER FROM TO: forges the LUKS2 header of DEVICE as a
 * host could (snpg_test_luks2_edit_json, 16 KiB metadata), for the
 * workflow integration tests: e.g. the data segment switched to
 * cipher_null with the same UUID and a valid checksum. */
#include "config.h"

#include <stdio.h>

#include "testutil.h"

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;

    if (argc != 5) {
        fprintf(stderr, "usage: luks-edit DEVICE MARKER FROM TO\n");
        return 2;
    }
    if (!snpg_test_luks2_edit_json(argv[1], 16 * 1024, argv[2], argv[3], argv[4], &error)) {
        fprintf(stderr, "luks-edit: %s\n", error->message);
        return 1;
    }
    return 0;
}
