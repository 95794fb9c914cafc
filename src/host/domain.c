/* Domain XML for SEV-SNP guests: templates filled with XPath edits, launch
 * inputs read back from any domain XML, snpguard's metadata element. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xmlsave.h>
#include <libxml/xpathInternals.h>

#include "domain.h"
#include "hex.h"
#include "i18n.h"
#include "identity.h"
#include "vmsa.h"

G_DEFINE_QUARK(snpg-domain-error-quark, snpg_domain_error)

/* Decoded sizes libvirt checks (domain_validate.c, CHECK_BASE64_LEN). */
#define ID_BLOCK_SIZE 96
#define ID_AUTH_SIZE 4096
#define HOST_DATA_SIZE 32
/* /proc/cpuinfo of a large host is a few MiB; the first processor comes first. */
#define CPUINFO_MAX (16 * 1024 * 1024)

static const char *const workflow_names[] = { "encrypted", "integrity", "none" };
G_STATIC_ASSERT(G_N_ELEMENTS(workflow_names) == SNPG_WORKFLOW_LAST);
static const char *const failure_names[] = { "destroy", "pause", "keep" };
G_STATIC_ASSERT(G_N_ELEMENTS(failure_names) == SNPG_FAILURE_LAST);

const char *
snpg_workflow_to_string(SnpgWorkflow workflow)
{
    return workflow < SNPG_WORKFLOW_LAST ? workflow_names[workflow] : NULL;
}

int
snpg_workflow_from_string(const char *name)
{
    for (gsize i = 0; name && i < G_N_ELEMENTS(workflow_names); i++)
        if (g_str_equal(workflow_names[i], name))
            return (int)i;
    return -1;
}

guint
snpg_workflow_disk_count(SnpgWorkflow workflow)
{
    switch (workflow) {
    case SNPG_WORKFLOW_ENCRYPTED: return 1;   /* the LUKS2 root */
    case SNPG_WORKFLOW_INTEGRITY: return 2;   /* the data disk, then its hash disk */
    default: return 0;
    }
}

const char *
snpg_failure_action_to_string(SnpgFailureAction action)
{
    return action < SNPG_FAILURE_LAST ? failure_names[action] : NULL;
}

int
snpg_failure_action_from_string(const char *name)
{
    for (gsize i = 0; name && i < G_N_ELEMENTS(failure_names); i++)
        if (g_str_equal(failure_names[i], name))
            return (int)i;
    return -1;
}

/* ---- parsing hostile XML ------------------------------------------------ */

xmlDoc *
snpg_domain_parse(const char *data, gsize len, const char *what, GError **error)
{
    xmlParserCtxtPtr ctxt;
    xmlDoc *doc;
    /* No NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR, no network;
     * errors are reported through GError, not printed. */
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_NOCDATA;

    if (len > SNPG_DOMAIN_XML_MAX) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE,
                    _("The domain XML %s is too large (%" G_GSIZE_FORMAT " bytes, at most %d)."),
                    what, len, SNPG_DOMAIN_XML_MAX);
        return NULL;
    }
    if (!(ctxt = xmlNewParserCtxt())) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE,
                    _("Cannot parse the domain XML %s: out of memory."), what);
        return NULL;
    }
    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, options);
    if (!doc || !ctxt->wellFormed) {
        const xmlError *err = xmlCtxtGetLastError(ctxt);
        g_autofree char *msg = g_strdup(err && err->message ? err->message : "?");

        g_strchomp(msg);
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE,
                    _("The domain XML %s is not well-formed (line %d: %s)."), what,
                    err ? err->line : 0, msg);
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    xmlFreeParserCtxt(ctxt);
    /* libvirt never writes a DOCTYPE; one here can only declare entities. */
    if (doc->intSubset || doc->extSubset) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE,
                    _("The domain XML %s has a document type declaration; libvirt domain XML "
                      "has none."), what);
        xmlFreeDoc(doc);
        return NULL;
    }
    if (!xmlDocGetRootElement(doc) ||
        !xmlStrEqual(xmlDocGetRootElement(doc)->name, BAD_CAST "domain") ||
        xmlDocGetRootElement(doc)->ns) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE,
                    _("%s is not a libvirt domain XML (its root element is not <domain>)."), what);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

xmlDoc *
snpg_domain_parse_file(const char *path, GError **error)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autofree char *what = g_strdup_printf("'%s'", path);
    gboolean is_stdin = g_str_equal(path, "-");
    int fd = is_stdin ? STDIN_FILENO : g_open(path, O_RDONLY | O_CLOEXEC, 0);
    guint8 chunk[65536];

    if (fd < 0) {
        int saved = errno;
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                    _("Cannot read the domain XML '%s': %s."), path, g_strerror(saved));
        return NULL;
    }
    /* Read at most one byte past the limit: enough to refuse /dev/zero. */
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                        _("Cannot read the domain XML '%s': %s."), path, g_strerror(saved));
            if (!is_stdin)
                close(fd);
            return NULL;
        }
        if (n == 0)
            break;
        g_byte_array_append(buf, chunk, (guint)n);
        if (buf->len > SNPG_DOMAIN_XML_MAX)
            break;
    }
    if (!is_stdin)
        close(fd);
    return snpg_domain_parse((const char *)buf->data, buf->len, what, error);
}

static void strip_blanks(xmlNode *node);

char *
snpg_domain_to_string(xmlDoc *doc)
{
    g_autoptr(xmlDoc) copy = xmlCopyDoc(doc, 1);
    xmlBufferPtr buf = xmlBufferCreate();
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    char *text;

    /* Re-indented as a whole, so that inserted elements line up. */
    strip_blanks(xmlDocGetRootElement(copy));
    xmlSaveTree(save, xmlDocGetRootElement(copy));
    xmlSaveClose(save);
    text = g_strdup_printf("%s\n", (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return text;
}

/* ---- XPath helpers ------------------------------------------------------ */

static xmlXPathContext *
xpath_new(xmlDoc *doc)
{
    xmlXPathContext *ctx = xmlXPathNewContext(doc);

    if (ctx)
        xmlXPathRegisterNs(ctx, BAD_CAST SNPG_DOMAIN_NS_PREFIX, BAD_CAST SNPG_DOMAIN_NS_URI);
    return ctx;
}

/* The nodes matching expr (never NULL on success; possibly empty). */
static xmlXPathObject *
xpath_eval(xmlXPathContext *ctx, const char *expr)
{
    xmlXPathObject *obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);

    g_assert(obj && obj->type == XPATH_NODESET);   /* the expressions are ours */
    return obj;
}

static int
xpath_count(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = xpath_eval(ctx, expr);

    return obj->nodesetval ? obj->nodesetval->nodeNr : 0;
}

/* The single node matching expr; NULL if none. More than one is an error
 * (libvirt would silently take the first: a reader could disagree). */
static gboolean
xpath_node(xmlXPathContext *ctx, const char *expr, const char *what, xmlNode **ret,
           GError **error)
{
    g_autoptr(xmlXPathObject) obj = xpath_eval(ctx, expr);
    int n = obj->nodesetval ? obj->nodesetval->nodeNr : 0;

    *ret = NULL;
    if (n > 1) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The domain has more than one %s."), what);
        return FALSE;
    }
    if (n == 1)
        *ret = obj->nodesetval->nodeTab[0];
    return TRUE;
}

/* The node's text (all of it, untrimmed: libvirt passes it on as written). */
static char *
node_text(xmlNode *node)
{
    xmlChar *s = xmlNodeGetContent(node);
    char *ret = g_strdup(s ? (const char *)s : "");

    xmlFree(s);
    return ret;
}

static char *
node_prop(xmlNode *node, const char *name)
{
    xmlChar *s = xmlGetNoNsProp(node, BAD_CAST name);
    char *ret = s ? g_strdup((const char *)s) : NULL;

    xmlFree(s);
    return ret;
}

/* Replaces the node's children with one text node (escaped by libxml2). */
static void
set_text(xmlNode *node, const char *text)
{
    xmlNodeSetContent(node, NULL);
    xmlNodeAddContent(node, BAD_CAST text);
}

/* The element named expr's last step under parent, created if missing. */
static xmlNode *
ensure_child(xmlXPathContext *ctx, xmlNode *parent, const char *name)
{
    xmlNode *node;

    ctx->node = parent;
    {
        g_autoptr(xmlXPathObject) obj = xpath_eval(ctx, name);
        if (obj->nodesetval && obj->nodesetval->nodeNr > 0)
            node = obj->nodesetval->nodeTab[0];
        else
            node = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
    }
    ctx->node = NULL;
    return node;
}

static void
remove_nodes(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = xpath_eval(ctx, expr);

    for (int i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        xmlNode *node = obj->nodesetval->nodeTab[i];

        obj->nodesetval->nodeTab[i] = NULL;
        xmlUnlinkNode(node);
        xmlFreeNode(node);
    }
}

static gboolean
require_node(xmlXPathContext *ctx, const char *expr, const char *what, xmlNode **ret,
             GError **error)
{
    if (!xpath_node(ctx, expr, what, ret, error))
        return FALSE;
    if (!*ret) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("The domain has no %s."), what);
        return FALSE;
    }
    return TRUE;
}

/* ---- metadata ----------------------------------------------------------- */

void
snpg_domain_meta_clear(SnpgDomainMeta *meta)
{
    g_free(meta->verifier);
    g_free(meta->verifier_pin);
    g_free(meta->verifier_mode);
    g_free(meta->firmware);
    g_free(meta->vcpu_type);
    g_free(meta->measurement);
    memset(meta, 0, sizeof(*meta));
}

static gboolean
parse_hex64(const char *text, guint64 *ret)
{
    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))
        text += 2;
    return g_ascii_string_to_unsigned(text, 16, 0, G_MAXUINT64, ret, NULL);
}

static gboolean
meta_bad(const char *field, const char *value, GError **error)
{
    g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                _("The snpguard metadata has an invalid %s '%s'."), field, value);
    return FALSE;
}

/* The text of <snpguard:NAME> under the metadata element, or NULL. */
static char *
meta_field(xmlXPathContext *ctx, const char *name, GError **error, gboolean *ok)
{
    g_autofree char *expr = g_strdup_printf("/domain/metadata/snpguard:vm/snpguard:%s", name);
    xmlNode *node;

    if (!xpath_node(ctx, expr, name, &node, error)) {
        *ok = FALSE;
        return NULL;
    }
    return node ? node_text(node) : NULL;
}

gboolean
snpg_domain_meta_read(xmlDoc *doc, SnpgDomainMeta *ret, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_autofree char *workflow = NULL, *emulate = NULL, *gate = NULL, *failure = NULL;
    g_autofree char *vmpl = NULL, *sig = NULL, *features = NULL, *policy = NULL;
    xmlNode *root;
    gboolean ok = TRUE;
    guint64 v;
    int n;

    if (!xpath_node(ctx, "/domain/metadata/snpguard:vm", _("snpguard metadata element"),
                    &root, error))
        return FALSE;
    if (!root) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_NO_METADATA,
                    _("The domain has no snpguard metadata (namespace %s)."), SNPG_DOMAIN_NS_URI);
        return FALSE;
    }
    workflow = meta_field(ctx, "workflow", error, &ok);
    emulate = ok ? meta_field(ctx, "emulate", error, &ok) : NULL;
    gate = ok ? meta_field(ctx, "gate", error, &ok) : NULL;
    failure = ok ? meta_field(ctx, "failure-action", error, &ok) : NULL;
    meta.verifier = ok ? meta_field(ctx, "verifier", error, &ok) : NULL;
    meta.verifier_pin = ok ? meta_field(ctx, "verifier-pin", error, &ok) : NULL;
    meta.verifier_mode = ok ? meta_field(ctx, "verifier-mode", error, &ok) : NULL;
    vmpl = ok ? meta_field(ctx, "vmpl", error, &ok) : NULL;
    meta.firmware = ok ? meta_field(ctx, "firmware", error, &ok) : NULL;
    meta.vcpu_type = ok ? meta_field(ctx, "vcpu-type", error, &ok) : NULL;
    sig = ok ? meta_field(ctx, "vcpu-signature", error, &ok) : NULL;
    features = ok ? meta_field(ctx, "guest-features", error, &ok) : NULL;
    policy = ok ? meta_field(ctx, "policy", error, &ok) : NULL;
    meta.measurement = ok ? meta_field(ctx, "measurement", error, &ok) : NULL;
    if (!ok)
        return FALSE;

    if (!workflow || (n = snpg_workflow_from_string(workflow)) < 0)
        return meta_bad("workflow", workflow ? workflow : "", error);
    meta.workflow = n;
    meta.emulate = emulate && g_str_equal(emulate, "yes");
    if (emulate && !meta.emulate && !g_str_equal(emulate, "no"))
        return meta_bad("emulate", emulate, error);
    meta.gate = !gate || g_str_equal(gate, "yes");
    if (gate && !meta.gate && !g_str_equal(gate, "no"))
        return meta_bad("gate", gate, error);
    if (meta.verifier_mode && !g_str_equal(meta.verifier_mode, "hook") &&
        !g_str_equal(meta.verifier_mode, "watch") && !g_str_equal(meta.verifier_mode, "manual"))
        return meta_bad("verifier-mode", meta.verifier_mode, error);
    meta.failure_action = SNPG_FAILURE_DESTROY;
    if (failure && (n = snpg_failure_action_from_string(failure)) < 0)
        return meta_bad("failure-action", failure, error);
    if (failure)
        meta.failure_action = n;
    if (vmpl && !g_ascii_string_to_unsigned(vmpl, 10, 0, 3, &v, NULL))
        return meta_bad("vmpl", vmpl, error);
    meta.vmpl = vmpl ? (guint)v : 0;
    if (sig && (!parse_hex64(sig, &v) || v > G_MAXUINT32))
        return meta_bad("vcpu-signature", sig, error);
    meta.vcpu_sig = sig ? (guint32)v : 0;
    meta.guest_features = SNPG_DOMAIN_GUEST_FEATURES_DEFAULT;
    if (features && !parse_hex64(features, &meta.guest_features))
        return meta_bad("guest-features", features, error);
    meta.policy = SNPG_DOMAIN_POLICY_DEFAULT;
    if (policy && !parse_hex64(policy, &meta.policy))
        return meta_bad("policy", policy, error);
    *ret = meta;
    memset(&meta, 0, sizeof(meta));
    return TRUE;
}

static void
meta_add(xmlNode *root, xmlNs *ns, const char *name, const char *value)
{
    if (value)
        xmlNewTextChild(root, ns, BAD_CAST name, BAD_CAST value);
}

gboolean
snpg_domain_meta_write(xmlDoc *doc, const SnpgDomainMeta *meta, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    g_autofree char *vmpl = g_strdup_printf("%u", meta->vmpl);
    g_autofree char *sig = g_strdup_printf("0x%08x", meta->vcpu_sig);
    g_autofree char *features = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", meta->guest_features);
    g_autofree char *policy = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", meta->policy);
    xmlNode *domain = xmlDocGetRootElement(doc);
    xmlNode *metadata, *root;
    xmlNs *ns;

    if (!snpg_workflow_to_string(meta->workflow) ||
        !snpg_failure_action_to_string(meta->failure_action)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid snpguard settings (workflow or failure action)."));
        return FALSE;
    }
    /* One element per namespace, as virDomainSetMetadata keeps it. */
    remove_nodes(ctx, "/domain/metadata/*[namespace-uri()='" SNPG_DOMAIN_NS_URI "']");
    metadata = ensure_child(ctx, domain, "metadata");
    root = xmlNewChild(metadata, NULL, BAD_CAST SNPG_DOMAIN_NS_ELEMENT, NULL);
    ns = xmlNewNs(root, BAD_CAST SNPG_DOMAIN_NS_URI, BAD_CAST SNPG_DOMAIN_NS_PREFIX);
    xmlSetNs(root, ns);
    meta_add(root, ns, "workflow", snpg_workflow_to_string(meta->workflow));
    meta_add(root, ns, "emulate", meta->emulate ? "yes" : "no");
    meta_add(root, ns, "gate", meta->gate ? "yes" : "no");
    meta_add(root, ns, "failure-action", snpg_failure_action_to_string(meta->failure_action));
    meta_add(root, ns, "verifier", meta->verifier);
    meta_add(root, ns, "verifier-pin", meta->verifier_pin);
    meta_add(root, ns, "verifier-mode", meta->verifier_mode);
    meta_add(root, ns, "vmpl", vmpl);
    meta_add(root, ns, "firmware", meta->firmware);
    meta_add(root, ns, "vcpu-type", meta->vcpu_type);
    meta_add(root, ns, "vcpu-signature", sig);
    meta_add(root, ns, "guest-features", features);
    meta_add(root, ns, "policy", policy);
    meta_add(root, ns, "measurement", meta->measurement);
    return TRUE;
}

/* ---- launch inputs ------------------------------------------------------ */

void
snpg_launch_inputs_clear(SnpgLaunchInputs *inputs)
{
    g_free(inputs->firmware);
    g_free(inputs->kernel);
    g_free(inputs->initrd);
    g_free(inputs->cmdline);
    g_free(inputs->vcpu_type);
    if (inputs->assumptions)
        g_ptr_array_unref(inputs->assumptions);
    memset(inputs, 0, sizeof(*inputs));
}

gboolean
snpg_domain_host_cpu_sig(const char *cpuinfo_path, guint32 *ret_sig, GError **error)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    gint64 family = -1, model = -1, stepping = -1;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!g_file_get_contents(cpuinfo_path, &text, &len, &local)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                    _("Cannot read the host CPU signature from '%s': %s"), cpuinfo_path,
                    local->message);
        return FALSE;
    }
    if (len > CPUINFO_MAX)
        text[CPUINFO_MAX] = '\0';
    lines = g_strsplit(text, "\n", -1);
    /* The first processor block only: it ends at the first empty line. */
    for (char **l = lines; *l && **l; l++) {
        g_auto(GStrv) kv = g_strsplit(*l, ":", 2);
        guint64 v;

        if (!kv[0] || !kv[1])
            continue;
        g_strstrip(kv[0]);
        g_strstrip(kv[1]);
        if (!g_ascii_string_to_unsigned(kv[1], 10, 0, G_MAXUINT32, &v, NULL))
            continue;
        if (g_str_equal(kv[0], "cpu family"))
            family = (gint64)v;
        else if (g_str_equal(kv[0], "model"))
            model = (gint64)v;
        else if (g_str_equal(kv[0], "stepping"))
            stepping = (gint64)v;
    }
    if (family < 0 || model < 0 || stepping < 0) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("'%s' names no cpu family, model and stepping: cannot tell the vCPU "
                      "signature of a host-passthrough CPU."), cpuinfo_path);
        return FALSE;
    }
    return snpg_vmsa_cpu_sig((guint64)family, (guint64)model, (guint64)stepping, ret_sig, error);
}

/* A QEMU model's signature. Versioned names (EPYC-Milan-v3, EPYC-Genoa-v2)
 * keep the base model's family/model/stepping: QEMU's versions change
 * features only, so a version the core table does not list yet falls back
 * to its base model. */
static gboolean
model_sig(const char *model, guint32 *ret_sig, GError **error)
{
    const char *dash = strrchr(model, '-');
    g_autofree char *known = NULL;

    if (snpg_vmsa_cpu_type_sig(model, ret_sig, NULL))
        return TRUE;
    if (dash && dash[1] == 'v' && dash[2] && strspn(dash + 2, "0123456789") == strlen(dash + 2)) {
        g_autofree char *base = g_strndup(model, (gsize)(dash - model));

        if (snpg_vmsa_cpu_type_sig(base, ret_sig, NULL))
            return TRUE;
    }
    known = g_strjoinv(", ", (char **)snpg_vmsa_cpu_types());
    g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                _("Unknown CPU model '%s': its vCPU signature, which every VMSA holds, is not "
                  "known. Known models: %s, or host-passthrough."), model, known);
    return FALSE;
}

/* The vCPU model (or host-passthrough) and its signature from <cpu>. */
static gboolean
read_cpu(xmlXPathContext *ctx, SnpgLaunchInputs *in, SnpgLaunchInputsFlags flags, GError **error)
{
    g_autofree char *mode = NULL;
    xmlNode *cpu, *model;

    if (!xpath_node(ctx, "/domain/cpu", "<cpu>", &cpu, error))
        return FALSE;
    mode = cpu ? node_prop(cpu, "mode") : NULL;
    if (mode && (g_str_equal(mode, "host-passthrough") || g_str_equal(mode, "maximum"))) {
        /* -cpu host (KVM's maximum is the same): the host's CPUID leaf 1. */
        in->vcpu_type = g_strdup(SNPG_DOMAIN_HOST_PASSTHROUGH);
        if (!(flags & SNPG_LAUNCH_INPUTS_NO_HOST) &&
            !snpg_domain_host_cpu_sig("/proc/cpuinfo", &in->vcpu_sig, error))
            return FALSE;
        g_ptr_array_add(in->assumptions,
                        g_strdup_printf(_("vCPU signature 0x%08x: this host's CPU (CPU mode '%s'); "
                                          "a start on another CPU measures differently"),
                                        in->vcpu_sig, mode));
        return TRUE;
    }
    if (mode && g_str_equal(mode, "host-model")) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("CPU mode 'host-model' becomes whatever model libvirt picks on the host that "
                      "starts the VM, so the vCPU signature is not known in advance: name a model "
                      "(<cpu mode='custom'><model>EPYC-Milan</model>) or use host-passthrough."));
        return FALSE;
    }
    if (mode && !g_str_equal(mode, "custom")) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("Unknown CPU mode '%s'."), mode);
        return FALSE;
    }
    if (!xpath_node(ctx, "/domain/cpu/model", "<cpu><model>", &model, error))
        return FALSE;
    if (!model) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("The domain names no CPU model (<cpu mode='custom'><model>): QEMU's default "
                      "model has no SEV-SNP vCPU signature snpguard knows."));
        return FALSE;
    }
    in->vcpu_type = node_text(model);
    g_strstrip(in->vcpu_type);   /* libvirt trims model names */
    if (!model_sig(in->vcpu_type, &in->vcpu_sig, error))
        return FALSE;
    g_ptr_array_add(in->assumptions,
                    g_strdup_printf(_("vCPU signature 0x%08x: QEMU's CPU model '%s'"), in->vcpu_sig,
                                    in->vcpu_type));
    return TRUE;
}

static gboolean
read_vcpus(xmlXPathContext *ctx, SnpgLaunchInputs *in, GError **error)
{
    g_autofree char *text = NULL, *current = NULL;
    xmlNode *vcpu;
    guint64 max, cur;

    if (!require_node(ctx, "/domain/vcpu", "<vcpu>", &vcpu, error))
        return FALSE;
    text = node_text(vcpu);
    g_strstrip(text);
    current = node_prop(vcpu, "current");
    /* One VMSA per vCPU present at launch; 512 is far above any SNP host. */
    if (!g_ascii_string_to_unsigned(text, 10, 1, 512, &max, NULL)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid vCPU count '%s' (1 to 512)."), text);
        return FALSE;
    }
    cur = max;
    if (current && !g_ascii_string_to_unsigned(current, 10, 1, max, &cur, NULL)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid vCPU count at launch current='%s' (1 to %s)."), current, text);
        return FALSE;
    }
    in->vcpus = (guint)cur;
    return TRUE;
}

/* An absolute path from an element's text. */
static gboolean
read_path(xmlXPathContext *ctx, const char *expr, const char *what, char **ret, GError **error)
{
    xmlNode *node;

    if (!require_node(ctx, expr, what, &node, error))
        return FALSE;
    *ret = node_text(node);
    if ((*ret)[0] != '/') {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The domain's %s is not an absolute path: '%s'."), what, *ret);
        return FALSE;
    }
    return TRUE;
}

static gboolean
read_launch_security(xmlXPathContext *ctx, SnpgLaunchInputs *in, GError **error)
{
    g_autofree char *type = NULL, *hashes = NULL, *policy = NULL;
    xmlNode *ls, *pol;

    if (!require_node(ctx, "/domain/launchSecurity", "<launchSecurity type='sev-snp'>", &ls, error))
        return FALSE;
    type = node_prop(ls, "type");
    if (!type || !g_str_equal(type, "sev-snp")) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("The domain's launch security is '%s', not 'sev-snp'."), type ? type : "");
        return FALSE;
    }
    hashes = node_prop(ls, "kernelHashes");
    in->kernel_hashes = hashes && g_str_equal(hashes, "yes");
    if (!in->kernel_hashes) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("The domain's <launchSecurity> lacks kernelHashes='yes': the kernel, initrd "
                      "and command line would not be measured (QEMU's default is off)."));
        return FALSE;
    }
    if (!require_node(ctx, "/domain/launchSecurity/policy", "<launchSecurity><policy>", &pol, error))
        return FALSE;
    policy = node_text(pol);
    g_strstrip(policy);
    /* libvirt reads the policy in base 16, with or without 0x. */
    if (!parse_hex64(policy, &in->policy)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid SEV-SNP policy '%s'."), policy);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_domain_launch_inputs(xmlDoc *doc, SnpgLaunchInputs *ret, GError **error)
{
    return snpg_domain_launch_inputs_full(doc, 0, ret, error);
}

gboolean
snpg_domain_launch_inputs_full(xmlDoc *doc, SnpgLaunchInputsFlags flags, SnpgLaunchInputs *ret,
                               GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_autoptr(GError) meta_error = NULL;
    gboolean have_meta;
    xmlNode *cmdline;

    in.assumptions = g_ptr_array_new_with_free_func(g_free);
    have_meta = snpg_domain_meta_read(doc, &meta, &meta_error);
    if (!have_meta && !g_error_matches(meta_error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_NO_METADATA)) {
        g_propagate_error(error, g_steal_pointer(&meta_error));
        return FALSE;
    }

    if (have_meta && meta.emulate && xpath_count(ctx, "/domain/launchSecurity") == 0) {
        /* snpguard's emulation profile: the SNP launch parameters are in the
         * metadata; the boot files and vCPU count are still the XML's. */
        in.emulated = TRUE;
        in.kernel_hashes = TRUE;
        in.policy = meta.policy;
        if (!meta.firmware || meta.firmware[0] != '/' || !meta.vcpu_type) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                        _("The emulated domain's snpguard metadata names no SNP firmware (an "
                          "absolute path) or no vCPU type."));
            return FALSE;
        }
        in.firmware = g_strdup(meta.firmware);
        in.vcpu_type = g_strdup(meta.vcpu_type);
        if (g_str_equal(meta.vcpu_type, SNPG_DOMAIN_HOST_PASSTHROUGH))
            in.vcpu_sig = meta.vcpu_sig;
        else if (!model_sig(meta.vcpu_type, &in.vcpu_sig, error))
            return FALSE;
        g_ptr_array_add(in.assumptions,
                        g_strdup_printf(_("emulation profile: the SNP firmware '%s' and vCPU type "
                                          "'%s' (signature 0x%08x) from snpguard's metadata"),
                                        in.firmware, in.vcpu_type, in.vcpu_sig));
    } else {
        if (!read_launch_security(ctx, &in, error))
            return FALSE;
        /* <loader> in all its forms (rom or pflash, stateless, readonly,
         * format=) holds the path as text; <os firmware='efi'> alone leaves
         * the choice to libvirt, which the measurement cannot follow. */
        if (!xpath_node(ctx, "/domain/os/loader", "<os><loader>", &cmdline, error))
            return FALSE;
        if (!cmdline || !cmdline->children) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                        _("The domain names no firmware file (<os><loader>PATH</loader>): with "
                          "automatic firmware selection the measured image is not known in "
                          "advance. Name the AmdSev OVMF build, e.g. <loader type='rom' "
                          "stateless='yes'>/usr/share/ovmf/OVMF.amdsev.fd</loader>."));
            return FALSE;
        }
        if (!read_path(ctx, "/domain/os/loader", "<os><loader>", &in.firmware, error) ||
            !read_cpu(ctx, &in, flags, error))
            return FALSE;
    }
    if (!read_vcpus(ctx, &in, error) ||
        !read_path(ctx, "/domain/os/kernel", "<os><kernel>", &in.kernel, error) ||
        !read_path(ctx, "/domain/os/initrd", "<os><initrd>", &in.initrd, error) ||
        !xpath_node(ctx, "/domain/os/cmdline", "<os><cmdline>", &cmdline, error))
        return FALSE;
    in.cmdline = cmdline ? node_text(cmdline) : g_strdup("");

    in.guest_features = have_meta ? meta.guest_features : SNPG_DOMAIN_GUEST_FEATURES_DEFAULT;
    g_ptr_array_add(in.assumptions,
                    g_strdup_printf(_("guest features 0x%" G_GINT64_MODIFIER "x: %s"),
                                    in.guest_features,
                                    in.guest_features == SNPG_DOMAIN_GUEST_FEATURES_DEFAULT
                                    ? _("stock QEMU 9.1 to 10.2 with KVM_SEV_INIT2 (no debug-swap "
                                        "or secure-tsc)")
                                    : _("as snpguard's metadata says")));
    g_ptr_array_add(in.assumptions,
                    g_strdup_printf(_("%u vCPU(s) present at launch, one VMSA each"), in.vcpus));
    g_ptr_array_add(in.assumptions,
                    g_strdup(_("host kernel 6.10 or later (KVM sets the VMSA's FPU fields)")));
    g_ptr_array_add(in.assumptions,
                    g_strdup(_("the firmware, kernel and initrd files are hashed as they are now; "
                               "replacing one changes the measurement")));
    *ret = in;
    memset(&in, 0, sizeof(in));
    return TRUE;
}

gboolean
snpg_domain_measure(const SnpgLaunchInputs *inputs, guint8 *ret_digest,
                    SnpgMeasureExplain **ret_explain, GError **error)
{
    SnpgMeasureParams p = {
        .mode = SNPG_MEASURE_MODE_SNP,
        .vcpus = inputs->vcpus,
        .vcpu_sig = inputs->vcpu_sig,
        .vmm = SNPG_VMM_QEMU,
        .guest_features = inputs->guest_features,
        .firmware = inputs->firmware,
        .kernel = inputs->kernel,
        .initrd = inputs->initrd,
        .append = inputs->cmdline,
    };

    if (!inputs->kernel_hashes) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                    _("kernelHashes is off: the boot files are not measured."));
        return FALSE;
    }
    return snpg_measure(&p, ret_digest, ret_explain, error);
}

/* ---- adopt -------------------------------------------------------------- */

gboolean
snpg_domain_ensure_channel(xmlDoc *doc, gboolean *ret_added, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    xmlNode *devices, *channel, *node;
    int n;

    *ret_added = FALSE;
    n = xpath_count(ctx, "/domain/devices/channel[target/@name='" SNPG_DOMAIN_CHANNEL_NAME "']");
    if (n > 0) {
        /* The QEMU driver opens only unix channels (virDomainOpenChannel). */
        if (xpath_count(ctx, "/domain/devices/channel[@type='unix' and target/@type='virtio' and "
                        "target/@name='" SNPG_DOMAIN_CHANNEL_NAME "']") != 1) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED,
                        _("The domain's channel '%s' is not one virtio channel of type 'unix'."),
                        SNPG_DOMAIN_CHANNEL_NAME);
            return FALSE;
        }
        return TRUE;
    }
    if (!xpath_node(ctx, "/domain/devices", "<devices>", &devices, error))
        return FALSE;
    if (!devices)
        devices = xmlNewChild(xmlDocGetRootElement(doc), NULL, BAD_CAST "devices", NULL);
    channel = xmlNewChild(devices, NULL, BAD_CAST "channel", NULL);
    xmlNewProp(channel, BAD_CAST "type", BAD_CAST "unix");
    node = xmlNewChild(channel, NULL, BAD_CAST "source", NULL);
    xmlNewProp(node, BAD_CAST "mode", BAD_CAST "bind");
    node = xmlNewChild(channel, NULL, BAD_CAST "target", NULL);
    xmlNewProp(node, BAD_CAST "type", BAD_CAST "virtio");
    xmlNewProp(node, BAD_CAST "name", BAD_CAST SNPG_DOMAIN_CHANNEL_NAME);
    *ret_added = TRUE;
    return TRUE;
}

static gboolean
valid_pin(const char *pin)
{
    guint8 bytes[SNPG_PROTO_PIN_LEN];

    return strlen(pin) == SNPG_PROTO_PIN_LEN * 2 &&
           snpg_hex_decode("pin", pin, bytes, sizeof(bytes), NULL);
}

gboolean
snpg_domain_ensure_verifier_pin(xmlDoc *doc, const char *pin, gboolean *ret_added, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    g_autoptr(GError) local = NULL;
    g_autofree char *text = NULL, *given = NULL, *found = NULL;
    guint8 have[SNPG_PROTO_PIN_LEN];
    xmlNode *os, *cmdline;

    *ret_added = FALSE;
    if (!pin)
        return TRUE;
    if (!valid_pin(pin)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid verifier pin '%s' (64 hex digits)."), pin);
        return FALSE;
    }
    if (!require_node(ctx, "/domain/os", "<os>", &os, error) ||
        !xpath_node(ctx, "/domain/os/cmdline", "<os><cmdline>", &cmdline, error))
        return FALSE;
    text = cmdline ? node_text(cmdline) : g_strdup("");
    if (snpg_identity_pin_from_cmdline(text, have, &local)) {
        found = snpg_hex_encode(have, sizeof(have));
        given = g_ascii_strdown(pin, -1);
        if (!g_str_equal(found, given)) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                        _("The domain's command line pins another verifier (%s=%s), not %s."),
                        SNPG_IDENTITY_CMDLINE_PARAM, found, given);
            return FALSE;
        }
        return TRUE;
    }
    if (local) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (!cmdline)
        cmdline = xmlNewChild(os, NULL, BAD_CAST "cmdline", NULL);
    {
        g_autofree char *lower = g_ascii_strdown(pin, -1);
        g_autofree char *line = g_strdup_printf("%s%s%s=%s", text, *text ? " " : "",
                                                SNPG_IDENTITY_CMDLINE_PARAM, lower);
        set_text(cmdline, line);
    }
    *ret_added = TRUE;
    return TRUE;
}

gboolean
snpg_domain_seal(xmlDoc *doc, SnpgDomainMeta *meta, guint8 *ret_digest, GError **error)
{
    g_auto(SnpgLaunchInputs) in = { 0 };
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];

    if (!snpg_domain_launch_inputs(doc, &in, error) ||
        !snpg_domain_measure(&in, digest, NULL, error))
        return FALSE;
    g_free(meta->firmware);
    meta->firmware = g_strdup(in.firmware);
    g_free(meta->vcpu_type);
    meta->vcpu_type = g_strdup(in.vcpu_type);
    meta->vcpu_sig = in.vcpu_sig;
    meta->guest_features = in.guest_features;
    meta->policy = in.policy;
    g_free(meta->measurement);
    meta->measurement = snpg_hex_encode(digest, sizeof(digest));
    if (!snpg_domain_meta_write(doc, meta, error))
        return FALSE;
    if (ret_digest)
        memcpy(ret_digest, digest, sizeof(digest));
    return TRUE;
}

/* ---- build -------------------------------------------------------------- */

static gboolean
check_base64(const char *what, const char *text, gsize size, GError **error)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    gsize text_len = strlen(text), len = 0;
    g_autofree guchar *bytes = NULL;

    /* g_base64_decode skips stray characters: check the alphabet first. */
    if (strspn(text, alphabet) == text_len && text_len % 4 == 0)
        bytes = g_base64_decode(text, &len);
    if (!bytes || len != size) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The %s must be %" G_GSIZE_FORMAT " bytes in base64."), what, size);
        return FALSE;
    }
    return TRUE;
}

static gboolean
check_spec(const SnpgDomainSpec *spec, GError **error)
{
    const char *paths[] = { spec->firmware, spec->kernel, spec->initrd };
    guint ndisks = spec->disks ? g_strv_length((char **)spec->disks) : 0;

    if (!spec->name || !*spec->name || strlen(spec->name) > 200 ||
        !g_utf8_validate(spec->name, -1, NULL) || strchr(spec->name, '/')) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid domain name '%s' (1 to 200 characters, no '/')."),
                    spec->name ? spec->name : "");
        return FALSE;
    }
    if (!snpg_workflow_to_string(spec->workflow) ||
        !snpg_failure_action_to_string(spec->failure_action) || spec->vmpl > 3) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid workflow, failure action or VMPL."));
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(paths); i++)
        if (!paths[i] || paths[i][0] != '/') {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                        _("The firmware, kernel and initrd need absolute paths."));
            return FALSE;
        }
    if (ndisks != snpg_workflow_disk_count(spec->workflow)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The %s workflow takes %u disk(s), not %u."),
                    snpg_workflow_to_string(spec->workflow),
                    snpg_workflow_disk_count(spec->workflow), ndisks);
        return FALSE;
    }
    for (guint i = 0; i < ndisks; i++)
        if (spec->disks[i][0] != '/') {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                        _("The disk '%s' needs an absolute path."), spec->disks[i]);
            return FALSE;
        }
    if (spec->vcpus == 0 || spec->vcpus > 512) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid vCPU count %u (1 to 512)."), spec->vcpus);
        return FALSE;
    }
    if (spec->memory_mib == 0 || spec->memory_mib > G_GUINT64_CONSTANT(16) * 1024 * 1024) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("Invalid memory size %" G_GUINT64_FORMAT " MiB."), spec->memory_mib);
        return FALSE;
    }
    if (!!spec->id_block != !!spec->id_auth) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("An ID block needs its ID authentication information, and back."));
        return FALSE;
    }
    if ((spec->id_block && !check_base64("ID block", spec->id_block, ID_BLOCK_SIZE, error)) ||
        (spec->id_auth && !check_base64("ID authentication information", spec->id_auth,
                                        ID_AUTH_SIZE, error)) ||
        (spec->host_data && !check_base64("host data", spec->host_data, HOST_DATA_SIZE, error)))
        return FALSE;
    if (spec->console_log && spec->console_log[0] != '/') {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The console log '%s' needs an absolute path."), spec->console_log);
        return FALSE;
    }
    if (spec->emulate && (!spec->identity_file || spec->identity_file[0] != '/')) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The emulation profile needs an absolute path for its launch identity file."));
        return FALSE;
    }
    return TRUE;
}

static xmlDoc *
load_template(const SnpgDomainSpec *spec, GError **error)
{
    const char *dir = spec->template_dir;
    g_autofree char *file = NULL, *path = NULL, *data = NULL;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!dir)
        dir = g_getenv("SNPGUARD_TEMPLATE_DIR");
    if (!dir)
        dir = SNPG_XML_TEMPLATE_DIR;
    file = g_strdup_printf("%s.xml", snpg_workflow_to_string(spec->workflow));
    path = g_build_filename(dir, file, NULL);
    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                    _("Cannot read the domain template: %s"), local->message);
        return NULL;
    }
    {
        g_autofree char *what = g_strdup_printf("'%s'", path);
        return snpg_domain_parse(data, len, what, error);
    }
}

static xmlNode *
new_child_before(xmlNode *parent, xmlNode *before, const char *name)
{
    xmlNode *node = xmlNewNode(NULL, BAD_CAST name);

    if (before)
        xmlAddPrevSibling(before, node);
    else
        xmlAddChild(parent, node);
    return node;
}

/* Drops the template's indentation, so that the output indents inserted
 * nodes too (elements holding only text keep it). */
static void
strip_blanks(xmlNode *node)
{
    xmlNode *child = node->children;

    while (child) {
        xmlNode *next = child->next;

        if (child->type == XML_TEXT_NODE && xmlIsBlankNode(child) && node->children != node->last) {
            xmlUnlinkNode(child);
            xmlFreeNode(child);
        } else if (child->type == XML_ELEMENT_NODE) {
            strip_blanks(child);
        }
        child = next;
    }
}

static gboolean
fill(xmlDoc *doc, const SnpgDomainSpec *spec, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xpath_new(doc);
    xmlNode *domain = xmlDocGetRootElement(doc);
    xmlNode *node, *os, *devices, *cpu;
    g_autofree char *text = NULL;
    guint ndisks = snpg_workflow_disk_count(spec->workflow);

    if (!require_node(ctx, "/domain/name", "<name>", &node, error))
        return FALSE;
    set_text(node, spec->name);
    if (!require_node(ctx, "/domain/memory", "<memory>", &node, error))
        return FALSE;
    text = g_strdup_printf("%" G_GUINT64_FORMAT, spec->memory_mib);
    set_text(node, text);
    xmlSetProp(node, BAD_CAST "unit", BAD_CAST "MiB");
    remove_nodes(ctx, "/domain/currentMemory");
    if (!require_node(ctx, "/domain/vcpu", "<vcpu>", &node, error))
        return FALSE;
    g_free(text);
    text = g_strdup_printf("%u", spec->vcpus);
    set_text(node, text);
    xmlUnsetProp(node, BAD_CAST "current");

    /* The CPU model sets the signature in every VMSA. */
    remove_nodes(ctx, "/domain/cpu");
    if (!require_node(ctx, "/domain/os", "<os>", &os, error) ||
        !require_node(ctx, "/domain/devices", "<devices>", &devices, error))
        return FALSE;
    if (!spec->emulate) {
        if (!require_node(ctx, "/domain/features", "<features>", &node, error))
            return FALSE;
        cpu = xmlNewNode(NULL, BAD_CAST "cpu");
        xmlAddNextSibling(node, cpu);
        if (g_str_equal(spec->vcpu_type, SNPG_DOMAIN_HOST_PASSTHROUGH)) {
            xmlSetProp(cpu, BAD_CAST "mode", BAD_CAST "host-passthrough");
        } else {
            xmlSetProp(cpu, BAD_CAST "mode", BAD_CAST "custom");
            xmlSetProp(cpu, BAD_CAST "match", BAD_CAST "exact");
            node = xmlNewTextChild(cpu, NULL, BAD_CAST "model", BAD_CAST spec->vcpu_type);
            xmlSetProp(node, BAD_CAST "fallback", BAD_CAST "forbid");
        }
    }

    /* Direct kernel boot; all three are measured through the hashes table. */
    remove_nodes(ctx, "/domain/os/loader | /domain/os/nvram | /domain/os/boot");
    if (!spec->emulate) {
        xmlNode *type;

        if (!require_node(ctx, "/domain/os/type", "<os><type>", &type, error))
            return FALSE;
        node = xmlNewNode(NULL, BAD_CAST "loader");
        xmlAddNextSibling(type, node);
        xmlSetProp(node, BAD_CAST "type", BAD_CAST "rom");
        xmlSetProp(node, BAD_CAST "stateless", BAD_CAST "yes");
        set_text(node, spec->firmware);
    }
    set_text(ensure_child(ctx, os, "kernel"), spec->kernel);
    set_text(ensure_child(ctx, os, "initrd"), spec->initrd);
    node = ensure_child(ctx, os, "cmdline");
    {
        g_autofree char *line = spec->append ? g_strdup(spec->append) : node_text(node);

        /* The serial console needs the guest to write to it. */
        if (spec->console_log && !strstr(line, "console=")) {
            char *more = g_strdup_printf("%s%sconsole=ttyS0", line, *line ? " " : "");
            g_free(line);
            line = more;
        }
        set_text(node, line);
    }

    /* Disks, in the template's order (integrity: data, then hash). */
    {
        g_autoptr(xmlXPathObject) obj = xpath_eval(ctx, "/domain/devices/disk/source");
        int n = obj->nodesetval ? obj->nodesetval->nodeNr : 0;

        if ((guint)n != ndisks) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                        _("The %s template has %d disk(s), the workflow takes %u."),
                        snpg_workflow_to_string(spec->workflow), n, ndisks);
            return FALSE;
        }
        for (guint i = 0; i < ndisks; i++)
            xmlSetProp(obj->nodesetval->nodeTab[i], BAD_CAST "file", BAD_CAST spec->disks[i]);
    }

    remove_nodes(ctx, "/domain/devices/serial | /domain/devices/console");
    if (spec->console_log) {
        xmlNode *first_channel = NULL;
        xmlNode *serial, *child;

        xpath_node(ctx, "/domain/devices/channel[1]", "<channel>", &first_channel, NULL);
        serial = new_child_before(devices, first_channel, "serial");
        xmlSetProp(serial, BAD_CAST "type", BAD_CAST "file");
        child = xmlNewChild(serial, NULL, BAD_CAST "source", NULL);
        xmlSetProp(child, BAD_CAST "path", BAD_CAST spec->console_log);
        child = xmlNewChild(serial, NULL, BAD_CAST "target", NULL);
        xmlSetProp(child, BAD_CAST "port", BAD_CAST "0");
    }
    {
        gboolean added;
        if (!snpg_domain_ensure_channel(doc, &added, error))
            return FALSE;
    }

    remove_nodes(ctx, "/domain/launchSecurity | /domain/sysinfo | /domain/os/smbios");
    if (spec->emulate) {
        xmlNode *sysinfo = new_child_before(domain, os, "sysinfo");
        xmlNode *entry;

        /* TCG, no SEV: SeaBIOS boots the same kernel directly (the fastest
         * path, no OVMF); the hook writes the simulated launch identity that
         * the guest reads from fw_cfg. */
        xmlSetProp(domain, BAD_CAST "type", BAD_CAST "qemu");
        xmlSetProp(sysinfo, BAD_CAST "type", BAD_CAST "fwcfg");
        entry = xmlNewChild(sysinfo, NULL, BAD_CAST "entry", NULL);
        xmlSetProp(entry, BAD_CAST "name", BAD_CAST SNPG_DOMAIN_FWCFG_IDENTITY);
        xmlSetProp(entry, BAD_CAST "file", BAD_CAST spec->identity_file);
    } else {
        xmlNode *ls = xmlNewChild(domain, NULL, BAD_CAST "launchSecurity", NULL);
        g_autofree char *policy = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", spec->policy);

        xmlSetProp(domain, BAD_CAST "type", BAD_CAST "kvm");
        xmlSetProp(ls, BAD_CAST "type", BAD_CAST "sev-snp");
        xmlSetProp(ls, BAD_CAST "kernelHashes", BAD_CAST "yes");
        xmlNewTextChild(ls, NULL, BAD_CAST "policy", BAD_CAST policy);
        if (spec->id_block) {
            xmlNewTextChild(ls, NULL, BAD_CAST "idBlock", BAD_CAST spec->id_block);
            xmlNewTextChild(ls, NULL, BAD_CAST "idAuth", BAD_CAST spec->id_auth);
        }
        if (spec->host_data)
            xmlNewTextChild(ls, NULL, BAD_CAST "hostData", BAD_CAST spec->host_data);
    }
    return TRUE;
}

xmlDoc *
snpg_domain_build(const SnpgDomainSpec *spec, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };
    gboolean added;

    if (!check_spec(spec, error) || !(doc = load_template(spec, error)))
        return NULL;
    strip_blanks(xmlDocGetRootElement(doc));
    if (!fill(doc, spec, error) ||
        !snpg_domain_ensure_verifier_pin(doc, spec->verifier_pin, &added, error))
        return NULL;

    meta.workflow = spec->workflow;
    meta.emulate = spec->emulate;
    meta.gate = !spec->no_gate;
    meta.failure_action = spec->failure_action;
    meta.verifier = g_strdup(spec->verifier ? spec->verifier : spec->verifier_pin ? "key" : "none");
    meta.verifier_pin = spec->verifier_pin ? g_ascii_strdown(spec->verifier_pin, -1) : NULL;
    meta.verifier_mode = g_strdup(spec->verifier_mode);
    meta.vmpl = spec->vmpl;
    meta.guest_features = spec->guest_features ? spec->guest_features
                                               : SNPG_DOMAIN_GUEST_FEATURES_DEFAULT;
    meta.policy = spec->policy;
    /* The launch assumptions the emulated XML cannot say itself. */
    meta.firmware = g_strdup(spec->firmware);
    meta.vcpu_type = g_strdup(spec->vcpu_type);
    if (g_str_equal(spec->vcpu_type, SNPG_DOMAIN_HOST_PASSTHROUGH)) {
        if (!snpg_domain_host_cpu_sig("/proc/cpuinfo", &meta.vcpu_sig, error))
            return NULL;
    } else if (!model_sig(spec->vcpu_type, &meta.vcpu_sig, error)) {
        return NULL;
    }
    /* Written first so that the measurement reads the guest features (and,
     * emulated, firmware and CPU) from it; then rewritten with the value. */
    if (!snpg_domain_meta_write(doc, &meta, error) ||
        !snpg_domain_seal(doc, &meta, NULL, error))
        return NULL;
    return g_steal_pointer(&doc);
}
