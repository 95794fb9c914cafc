/* The core's session and attestation headers for the host library.
 *
 * session.h (the protocol's verdict: accepted or rejected) and registry.h
 * (the recorded verdict: accepted, rejected, refused, timeout, error) both
 * name a type SnpgVerdict. Host code includes the session through this
 * header, which calls the session's SnpgSessionVerdict with values
 * SNPG_SESSION_VERDICT_ACCEPTED/REJECTED; the registry's keeps its names. */
#pragma once

#define SnpgVerdict SnpgSessionVerdict
#define SNPG_VERDICT_ACCEPTED SNPG_SESSION_VERDICT_ACCEPTED
#define SNPG_VERDICT_REJECTED SNPG_SESSION_VERDICT_REJECTED
#include "attest.h"
#include "session.h"
#undef SnpgVerdict
#undef SNPG_VERDICT_ACCEPTED
#undef SNPG_VERDICT_REJECTED
