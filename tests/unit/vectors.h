/* The genuine SEV-SNP vectors in tests/data/vectors and their meta.json. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct {
    char *name;
    char *dir;
    JsonObject *meta;           /* owned through parser */
    JsonParser *parser;
    GBytes *report;
    GBytes *leaf;               /* vcek.der or vlek.der */
    char *leaf_path;
    char *ask_path;             /* asvk.pem for VLEK, else ask.pem */
    char *ark_path;
    gboolean vlek;
    gint64 window_mid;          /* Unix time inside the chain's validity */
    gint64 not_before, not_after;
} SnpgVector;

void snpg_vector_free(SnpgVector *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVector, snpg_vector_free)

/* All vectors, sorted by name (GPtrArray of SnpgVector*). */
GPtrArray *snpg_vectors_load(void);
/* One vector by name. */
SnpgVector *snpg_vector_load(const char *name);

GBytes *snpg_test_read(const char *path);
/* Parses "YYYY-MM-DD HH:MM:SS" (UTC) as in meta.json. */
gint64 snpg_vector_time(const char *text);
