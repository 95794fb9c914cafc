dist_man_MANS += docs/snpguard.1
dist_man_MANS += docs/snpguard-measure.1
dist_man_MANS += docs/snpguard-sim.1 docs/snpguard-idblock.1 docs/snpguard-certs.1
dist_man_MANS += docs/snpguard-report.1
EXTRA_DIST += docs/reference-values.md
dist_man_MANS += docs/snpguard-agent.8
dist_man_MANS += docs/snpguard-attest.1
EXTRA_DIST += docs/design-notes.md docs/protocol.md
