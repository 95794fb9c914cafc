/* Gettext for the core library: every user-visible sentence goes through _(). */
#pragma once

#include <glib/gi18n-lib.h>
