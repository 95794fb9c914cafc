# snpguard-agent and the initramfs pieces (the attestation-protocol issue).
