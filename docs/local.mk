dist_man_MANS += docs/snpguard.1
