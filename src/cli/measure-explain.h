/* The stages of a launch measurement, printed alike by 'measure --explain'
 * and 'show'. */
#pragma once

#include <json-glib/json-glib.h>

#include "measure.h"

/* Text, one line per stage, ending with "measurement: ...". */
void snpg_cli_print_measure_explain(const SnpgMeasureExplain *ex, gboolean base64);
/* The same as members of the JSON object b is building (mode, measurement,
 * firmware, sev_hashes, stages). */
void snpg_cli_json_add_measure_explain(JsonBuilder *b, const SnpgMeasureExplain *ex,
                                       gboolean base64);
