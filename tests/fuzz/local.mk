# libFuzzer targets (clang, --enable-fuzzing) and their corpus replay, which
# runs in every 'make check' through tests/fuzz/driver.c.
