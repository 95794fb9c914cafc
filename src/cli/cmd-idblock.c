/* snpguard idblock: SEV-SNP ID blocks for libvirt's <idBlock> and <idAuth>. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <openssl/crypto.h>

#include "autocleanups.h"
#include "cli-util.h"
#include "command.h"
#include "hex.h"
#include "idblock.h"

/* 96 hex digits, or base64 of 48 bytes (what sev-snp-measure prints). */
static gboolean
parse_measurement(const char *text, guint8 *out)
{
    gsize n = strlen(text), len = 0;
    gboolean hex = n == 96;
    g_autofree guchar *raw = NULL;

    for (gsize i = 0; hex && i < n; i++)
        hex = g_ascii_isxdigit(text[i]);
    if (hex)
        return snpg_cli_parse_hex("--measurement", text, out, 48);
    if (n == 64 && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n) {
        raw = g_base64_decode(text, &len);
        if (len == 48) {
            memcpy(out, raw, 48);
            return TRUE;
        }
    }
    snpg_cli_error(_("--measurement takes 48 bytes as 96 hex digits or base64: '%s'"), text);
    return FALSE;
}

/* ---- idblock create ---------------------------------------------------- */

static int
run_create(int argc, char **argv)
{
    g_autofree char *id_key_path = NULL, *author_key_path = NULL, *measurement = NULL;
    g_autofree char *family_id = NULL, *image_id = NULL, *policy = NULL, *guest_svn = NULL;
    g_autofree char *format = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "id-key", 0, 0, G_OPTION_ARG_FILENAME, &id_key_path,
          N_("ID key: PEM EC P-384 private key (required)"), N_("PEM") },
        { "author-key", 0, 0, G_OPTION_ARG_FILENAME, &author_key_path,
          N_("Author key: PEM EC P-384 private key (optional)"), N_("PEM") },
        { "measurement", 0, 0, G_OPTION_ARG_STRING, &measurement,
          N_("Expected launch measurement: 48 bytes in hex or base64 (required)"),
          N_("HEX|B64") },
        { "family-id", 0, 0, G_OPTION_ARG_STRING, &family_id,
          N_("FAMILY_ID, 16 bytes in hex (default zero)"), N_("HEX") },
        { "image-id", 0, 0, G_OPTION_ARG_STRING, &image_id,
          N_("IMAGE_ID, 16 bytes in hex (default zero)"), N_("HEX") },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &policy,
          N_("Guest policy in hex; must equal the launch policy (default 0x30000)"), N_("HEX") },
        { "guest-svn", 0, 0, G_OPTION_ARG_STRING, &guest_svn,
          N_("Guest SVN (default 0)"), N_("N") },
        { "format", 0, 0, G_OPTION_ARG_STRING, &format,
          N_("Output: text (default), libvirt (<idBlock>/<idAuth> elements) or reference "
             "(snp-create-id-block's output)"), N_("FORMAT") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("idblock create", NULL,
        _("Create a SEV-SNP ID block and ID auth structure (base64, for libvirt's <idBlock> "
          "and <idAuth>) and print the ID-key and author-key digests the report will carry."),
        entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) id_key = NULL;
    g_autoptr(EVP_PKEY) author_key = NULL;
    SnpgIdBlockParams params;
    guint8 block[SNPG_IDBLOCK_SIZE];
    g_autofree guint8 *auth = g_malloc0(SNPG_IDBLOCK_AUTH_SIZE);
    guint8 id_digest[SNPG_IDBLOCK_DIGEST_SIZE], author_digest[SNPG_IDBLOCK_DIGEST_SIZE] = { 0 };
    g_autofree char *block_b64 = NULL, *auth_b64 = NULL, *id_hex = NULL, *author_hex = NULL;
    guint64 v;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 1) {
        snpg_cli_error(_("idblock create takes no arguments, only options: '%s'"), argv[1]);
        return SNPG_EXIT_USAGE;
    }
    if (!id_key_path || !measurement) {
        snpg_cli_error(_("idblock create needs --id-key and --measurement"));
        return SNPG_EXIT_USAGE;
    }
    if (format && !g_str_equal(format, "text") && !g_str_equal(format, "libvirt") &&
        !g_str_equal(format, "reference")) {
        snpg_cli_error(_("--format takes text, libvirt or reference: '%s'"), format);
        return SNPG_EXIT_USAGE;
    }
    if (format && json) {
        snpg_cli_error(_("--format and --json exclude each other"));
        return SNPG_EXIT_USAGE;
    }
    snpg_idblock_params_init(&params);
    if (!parse_measurement(measurement, params.measurement) ||
        (family_id && !snpg_cli_parse_hex("--family-id", family_id, params.family_id, 16)) ||
        (image_id && !snpg_cli_parse_hex("--image-id", image_id, params.image_id, 16)) ||
        (policy && !snpg_cli_parse_u64("--policy", policy, 16, G_MAXUINT64, &params.policy)))
        return SNPG_EXIT_USAGE;
    if (guest_svn) {
        if (!snpg_cli_parse_u64("--guest-svn", guest_svn, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        params.guest_svn = (guint32)v;
    }
    if (format && g_str_equal(format, "reference") && !author_key_path) {
        snpg_cli_error(_("--format reference needs --author-key (snp-create-id-block requires one)"));
        return SNPG_EXIT_USAGE;
    }

    if (!(id_key = snpg_idblock_load_key(id_key_path, FALSE, &error)) ||
        (author_key_path && !(author_key = snpg_idblock_load_key(author_key_path, FALSE, &error))) ||
        !snpg_idblock_create(&params, id_key, author_key, block, auth, &error) ||
        !snpg_idblock_key_digest(id_key, id_digest, &error) ||
        (author_key && !snpg_idblock_key_digest(author_key, author_digest, &error))) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    block_b64 = g_base64_encode(block, sizeof(block));
    auth_b64 = g_base64_encode(auth, SNPG_IDBLOCK_AUTH_SIZE);
    id_hex = snpg_hex_encode(id_digest, sizeof(id_digest));
    author_hex = author_key ? snpg_hex_encode(author_digest, sizeof(author_digest)) : NULL;

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "id_block", block_b64);
        snpg_cli_json_add_string(b, "id_auth", auth_b64);
        json_builder_set_member_name(b, "author_key_enabled");
        json_builder_add_boolean_value(b, author_key != NULL);
        snpg_cli_json_add_string(b, "id_key_digest", id_hex);
        snpg_cli_json_add_string(b, "author_key_digest", author_hex);
        snpg_cli_json_add_hex64(b, "policy", params.policy);
        snpg_cli_json_add_int(b, "guest_svn", params.guest_svn);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else if (format && g_str_equal(format, "reference")) {
        g_autofree char *id_b64 = g_base64_encode(id_digest, sizeof(id_digest));
        g_autofree char *author_b64 = g_base64_encode(author_digest, sizeof(author_digest));
        printf("id-block=%s,id-auth=%s\nid_key_hash: %s\nauthor_key: %s\n", block_b64, auth_b64,
               id_b64, author_b64);
    } else if (format && g_str_equal(format, "libvirt")) {
        printf("<!-- %s -->\n", author_key ? _("in <launchSecurity type='sev-snp' authorKey='yes'>")
                                           : _("in <launchSecurity type='sev-snp' authorKey='no'>"));
        printf("<idBlock>%s</idBlock>\n<idAuth>%s</idAuth>\n", block_b64, auth_b64);
    } else {
        printf("id-block: %s\nid-auth: %s\nid-key-digest: %s\n", block_b64, auth_b64, id_hex);
        if (author_hex)
            printf("author-key-digest: %s\n", author_hex);
    }
    return SNPG_EXIT_OK;
}

/* ---- idblock keygen ---------------------------------------------------- */

static int
run_keygen(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("idblock keygen", "FILE",
        _("Create an EC P-384 private key (PEM, mode 0600) for ID blocks."), NULL);
    g_autoptr(GError) error = NULL;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("idblock keygen takes one file name"));
        return SNPG_EXIT_USAGE;
    }
    if (!snpg_idblock_keygen(argv[1], &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}

/* ---- idblock digest ---------------------------------------------------- */

static int
run_digest(int argc, char **argv)
{
    g_autofree char *id_key_path = NULL, *author_key_path = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "id-key", 0, 0, G_OPTION_ARG_FILENAME, &id_key_path,
          N_("ID key: PEM EC P-384 key, private or public"), N_("PEM") },
        { "author-key", 0, 0, G_OPTION_ARG_FILENAME, &author_key_path,
          N_("Author key: PEM EC P-384 key, private or public"), N_("PEM") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("idblock digest", NULL,
        _("Print the SHA-384 digests of the ID and author keys as the report's ID_KEY_DIGEST "
          "and AUTHOR_KEY_DIGEST carry them (hex)."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) id_key = NULL;
    g_autoptr(EVP_PKEY) author_key = NULL;
    guint8 id_digest[SNPG_IDBLOCK_DIGEST_SIZE], author_digest[SNPG_IDBLOCK_DIGEST_SIZE];
    g_autofree char *id_hex = NULL, *author_hex = NULL;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 1) {
        snpg_cli_error(_("idblock digest takes no arguments, only options: '%s'"), argv[1]);
        return SNPG_EXIT_USAGE;
    }
    if (!id_key_path && !author_key_path) {
        snpg_cli_error(_("idblock digest needs --id-key or --author-key"));
        return SNPG_EXIT_USAGE;
    }
    if ((id_key_path && (!(id_key = snpg_idblock_load_key(id_key_path, TRUE, &error)) ||
                         !snpg_idblock_key_digest(id_key, id_digest, &error))) ||
        (author_key_path && (!(author_key = snpg_idblock_load_key(author_key_path, TRUE, &error)) ||
                             !snpg_idblock_key_digest(author_key, author_digest, &error)))) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    if (id_key)
        id_hex = snpg_hex_encode(id_digest, sizeof(id_digest));
    if (author_key)
        author_hex = snpg_hex_encode(author_digest, sizeof(author_digest));
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        if (id_hex)
            snpg_cli_json_add_string(b, "id_key_digest", id_hex);
        if (author_hex)
            snpg_cli_json_add_string(b, "author_key_digest", author_hex);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else {
        if (id_hex)
            printf("id-key-digest: %s\n", id_hex);
        if (author_hex)
            printf("author-key-digest: %s\n", author_hex);
    }
    return SNPG_EXIT_OK;
}

static const SnpgCommand subcommands[] = {
    { "create", NULL, run_create },
    { "keygen", NULL, run_keygen },
    { "digest", NULL, run_digest },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard idblock create --id-key PEM [--author-key PEM] --measurement HEX|B64 [OPTION...]\n"
       "       snpguard idblock keygen FILE\n"
       "       snpguard idblock digest [--id-key PEM] [--author-key PEM] [--json]\n\n"
       "SEV-SNP ID blocks for libvirt's <idBlock> and <idAuth>.\n"
       "Run 'snpguard idblock SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_idblock = {
    "idblock", N_("SEV-SNP ID blocks and key digests (create, keygen, digest)"), NULL,
    subcommands, help,
};
