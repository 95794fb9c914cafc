# The snpguard command's pages are installed with the command (not with
# --disable-host); the agent's always.
if ENABLE_HOST
dist_man_MANS += docs/snpguard.1
dist_man_MANS += docs/snpguard-measure.1
dist_man_MANS += docs/snpguard-sim.1 docs/snpguard-idblock.1 docs/snpguard-certs.1
dist_man_MANS += docs/snpguard-report.1
endif
EXTRA_DIST += docs/reference-values.md
dist_man_MANS += docs/snpguard-agent.8
dist_man_MANS += docs/snpguard-hook.8
if ENABLE_HOST
dist_man_MANS += docs/snpguard-attest.1
endif
EXTRA_DIST += docs/design-notes.md docs/protocol.md
if ENABLE_HOST
dist_man_MANS += docs/snpguard-verifier-key.1
endif
EXTRA_DIST += hooks/README.md xml-templates/README.md
dist_man_MANS += docs/snpguard-define.1
EXTRA_DIST += docs/libvirt.md
dist_man_MANS += docs/snpguard-history.1 docs/snpguard-list.1
dist_man_MANS += docs/snpguard-guest.1
dist_man_MANS += docs/snpguard-image.1
EXTRA_DIST += docs/workflows.md
# Attestation on every start.
if ENABLE_HOST
dist_man_MANS += docs/snpguard-start.1 docs/snpguard-watch.8
endif
EXTRA_DIST += docs/deployment.md
