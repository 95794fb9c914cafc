/* The libvirt domain XML of an SEV-SNP guest: built from a per-workflow
 * template with XPath edits, read back from any domain XML (virt-manager's,
 * virt-install's, a hand-written one) to derive the launch measurement the
 * AMD secure processor will report, and snpguard's own settings kept in one
 * <metadata> element of its own namespace. Every XML input is hostile: size
 * bounded, no DTD, no entities, no network. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "measure.h"

#define SNPG_DOMAIN_ERROR (snpg_domain_error_quark())
GQuark snpg_domain_error_quark(void);

typedef enum {
    SNPG_DOMAIN_ERROR_IO,           /* a file could not be read */
    SNPG_DOMAIN_ERROR_PARSE,        /* not well-formed, too big, a DTD */
    SNPG_DOMAIN_ERROR_INVALID,      /* a value snpguard cannot use */
    SNPG_DOMAIN_ERROR_UNSUPPORTED,  /* a domain snpguard cannot measure */
    SNPG_DOMAIN_ERROR_NO_METADATA,  /* no snpguard metadata element */
} SnpgDomainError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)

/* Domain XML larger than this is refused: a real one is a few KiB (an idAuth
 * adds 5.5 KiB of base64). */
#define SNPG_DOMAIN_XML_MAX (1024 * 1024)

/* snpguard's metadata element: <snpguard:vm xmlns:snpguard='...'>. */
#define SNPG_DOMAIN_NS_URI "https://snpguard.org/xmlns/vm/1"
#define SNPG_DOMAIN_NS_PREFIX "snpguard"
#define SNPG_DOMAIN_NS_ELEMENT "vm"
/* The virtio-serial port snpguard-agent looks for. */
#define SNPG_DOMAIN_CHANNEL_NAME "org.snpguard.attest.0"
/* The fw_cfg blob the emulated guest reads its simulated launch identity from
 * (libvirt: a name under opt/, at most 55 characters). */
#define SNPG_DOMAIN_FWCFG_IDENTITY "opt/org.snpguard/identity"
/* VMSA sev_features QEMU 9.1-10.2 with KVM_SEV_INIT2 give every vCPU. */
#define SNPG_DOMAIN_GUEST_FEATURES_DEFAULT G_GUINT64_CONSTANT(0x1)
/* QEMU's default SNP policy: SMT allowed, bit 17 (reserved, must be 1). */
#define SNPG_DOMAIN_POLICY_DEFAULT G_GUINT64_CONSTANT(0x30000)
/* The <cpu> value for the host's own CPU (libvirt's mode name). */
#define SNPG_DOMAIN_HOST_PASSTHROUGH "host-passthrough"

typedef enum {
    SNPG_WORKFLOW_ENCRYPTED,   /* a LUKS2 root disk, key released on attestation */
    SNPG_WORKFLOW_INTEGRITY,   /* a dm-verity data disk and its hash disk */
    SNPG_WORKFLOW_NONE,        /* attestation only, no disk */
    SNPG_WORKFLOW_LAST
} SnpgWorkflow;

const char *snpg_workflow_to_string(SnpgWorkflow workflow);
int snpg_workflow_from_string(const char *name);   /* -1: unknown */
/* How many --disk files a workflow takes (its template's disks). */
guint snpg_workflow_disk_count(SnpgWorkflow workflow);

typedef enum {
    SNPG_FAILURE_DESTROY,   /* an attestation failure destroys the VM */
    SNPG_FAILURE_PAUSE,
    SNPG_FAILURE_KEEP,
    SNPG_FAILURE_LAST
} SnpgFailureAction;

const char *snpg_failure_action_to_string(SnpgFailureAction action);
int snpg_failure_action_from_string(const char *name);   /* -1: unknown */

/* snpguard's settings, stored in the domain's <metadata>. */
typedef struct {
    SnpgWorkflow workflow;
    gboolean emulate;               /* TCG, simulated secure processor */
    gboolean gate;                  /* the start gate refuses changed boot files */
    SnpgFailureAction failure_action;
    char *verifier;                 /* who pins: "registry", "key", "cmdline" (adopted as is) or "none" */
    char *verifier_pin;             /* hex, NULL: no pin on the command line */
    char *verifier_mode;            /* who attests: "hook", "watch", "manual"; NULL: not said */
    guint vmpl;                     /* the VMPL the guest requests reports at */
    /* The launch assumptions the measurement rests on. */
    char *firmware;                 /* the SNP firmware (also for emulation) */
    char *vcpu_type;                /* CPU model name, or "host-passthrough" */
    guint32 vcpu_sig;
    guint64 guest_features;
    guint64 policy;
    char *measurement;              /* hex (96 digits), NULL: not computed */
} SnpgDomainMeta;

void snpg_domain_meta_clear(SnpgDomainMeta *meta);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgDomainMeta, snpg_domain_meta_clear)

/* Reads the snpguard metadata element; SNPG_DOMAIN_ERROR_NO_METADATA when
 * the domain has none. */
gboolean snpg_domain_meta_read(xmlDoc *doc, SnpgDomainMeta *ret, GError **error);
/* Replaces the snpguard metadata element (creating <metadata> if needed). */
gboolean snpg_domain_meta_write(xmlDoc *doc, const SnpgDomainMeta *meta, GError **error);

/* Parses domain XML from memory (at most SNPG_DOMAIN_XML_MAX bytes; what
 * names it in errors); refuses a DTD, so no entity can be declared. */
xmlDoc *snpg_domain_parse(const char *data, gsize len, const char *what, GError **error);
/* Reads and parses a domain XML file ("-": standard input). */
xmlDoc *snpg_domain_parse_file(const char *path, GError **error);
/* The domain element as text, indented, without an XML declaration. */
char *snpg_domain_to_string(xmlDoc *doc);

typedef struct {
    const char *template_dir;      /* NULL: $SNPGUARD_TEMPLATE_DIR or the installed ones */
    const char *name;
    SnpgWorkflow workflow;
    const char *firmware;          /* absolute paths (the schema wants them) */
    const char *kernel;
    const char *initrd;
    const char *append;            /* NULL: the template's command line */
    guint vcpus;
    const char *vcpu_type;         /* a QEMU model name or "host-passthrough" */
    guint64 memory_mib;
    const char *const *disks;      /* NULL-terminated, snpg_workflow_disk_count() of them */
    guint64 policy;
    const char *id_block;          /* base64 (96 bytes), NULL: none; with id_auth */
    const char *id_auth;           /* base64 (4096 bytes) */
    const char *host_data;         /* base64 (32 bytes), NULL: none */
    guint vmpl;
    SnpgFailureAction failure_action;
    gboolean emulate;
    gboolean no_gate;
    const char *console_log;       /* NULL: no serial console */
    const char *verifier;          /* "registry", "key" or "none" */
    const char *verifier_pin;      /* hex, NULL: none */
    const char *verifier_mode;     /* "hook", "watch" or "manual"; NULL: not said */
    const char *identity_file;     /* emulate: the fw_cfg blob the hook writes */
    guint64 guest_features;        /* 0: SNPG_DOMAIN_GUEST_FEATURES_DEFAULT */
} SnpgDomainSpec;

/* The domain XML of spec: the workflow's template filled in, the expected
 * launch measurement computed from the values now in the XML and stored in
 * its metadata. With spec->emulate, the same VM for TCG (see docs/libvirt.md). */
xmlDoc *snpg_domain_build(const SnpgDomainSpec *spec, GError **error);

/* What the secure processor measures at launch, as a domain XML says it. */
typedef struct {
    char *firmware;
    char *kernel;
    char *initrd;
    char *cmdline;                 /* "" when the XML has none */
    guint vcpus;                   /* present at launch (<vcpu current=>) */
    char *vcpu_type;               /* model name or "host-passthrough" */
    guint32 vcpu_sig;
    guint64 guest_features;
    guint64 policy;
    gboolean kernel_hashes;
    gboolean emulated;             /* no <launchSecurity>: from snpguard's metadata */
    GPtrArray *assumptions;        /* char *: what the value rests on, for 'show' */
} SnpgLaunchInputs;

void snpg_launch_inputs_clear(SnpgLaunchInputs *inputs);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgLaunchInputs, snpg_launch_inputs_clear)

/* Reads the launch inputs from any domain XML with <launchSecurity
 * type='sev-snp' kernelHashes='yes'> and direct kernel boot (or an emulated
 * one snpguard wrote). Fails with a clear message on anything it cannot
 * measure: an unknown CPU model, no vCPU, no kernel, initrd or loader file,
 * kernelHashes off. */
gboolean snpg_domain_launch_inputs(xmlDoc *doc, SnpgLaunchInputs *ret, GError **error);

typedef enum {
    /* Read nothing from the host: a host-passthrough vCPU's signature is
     * left 0 instead of read from /proc/cpuinfo (the fuzz target). */
    SNPG_LAUNCH_INPUTS_NO_HOST = 1 << 0,
} SnpgLaunchInputsFlags;

/* snpg_domain_launch_inputs() is this with flags 0. */
gboolean snpg_domain_launch_inputs_full(xmlDoc *doc, SnpgLaunchInputsFlags flags,
                                        SnpgLaunchInputs *ret, GError **error);

/* The expected SNP launch digest (SNPG_MEASURE_SNP_DIGEST_SIZE bytes) of the
 * inputs, with the core engine; ret_explain as for snpg_measure(). */
gboolean snpg_domain_measure(const SnpgLaunchInputs *inputs, guint8 *ret_digest,
                             SnpgMeasureExplain **ret_explain, GError **error);

/* The CPUID(1).EAX signature of the first processor in a /proc/cpuinfo
 * style file (host-passthrough guests see the host's). */
gboolean snpg_domain_host_cpu_sig(const char *cpuinfo_path, guint32 *ret_sig, GError **error);

/* adopt: adds the attestation channel when the domain lacks it, and
 * snpguard.verifier=PIN to the command line when pin is given and the
 * command line has none (an existing different pin is an error). The
 * ret_added_* flags say what changed: both change what is measured. */
gboolean snpg_domain_ensure_channel(xmlDoc *doc, gboolean *ret_added, GError **error);
gboolean snpg_domain_ensure_verifier_pin(xmlDoc *doc, const char *pin, gboolean *ret_added,
                                         GError **error);

/* Derives the launch inputs of doc, measures them, and stores the
 * measurement and the assumptions in meta and in doc's metadata (meta's
 * other fields are written as given). ret_digest may be NULL. */
gboolean snpg_domain_seal(xmlDoc *doc, SnpgDomainMeta *meta, guint8 *ret_digest,
                          GError **error);
