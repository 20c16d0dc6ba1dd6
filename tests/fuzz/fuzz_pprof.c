/* libFuzzer target for the pprof reader (src/model/pprof_read.c): each
 * input is read as a pprof profile, raw or (when it starts with the gzip
 * magic) gzipped, with the default sample type and with data[0] picking
 * one by number; a profile that loads is walked the way reports walk it.
 *
 * Build: make fuzz; run: build/fuzz/fuzz-pprof -max_total_time=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/model/profile.h"
#include "fuzz_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct profile *p = profile_read_pprof(data, size, "fuzz.pb", NULL, err, sizeof(err));
	if (p)
		fuzz_walk(p);
	profile_free(p);
	if (size) {
		char index[8];
		snprintf(index, sizeof(index), "%u", data[0] % 4);
		p = profile_read_pprof(data, size, "fuzz.pb", index, err, sizeof(err));
		if (p)
			fuzz_walk(p);
		profile_free(p);
	}
	return 0;
}
