dist_man_MANS += docs/snpguard.1
dist_man_MANS += docs/snpguard-measure.1
