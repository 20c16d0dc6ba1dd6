/* libFuzzer target for the text readers (src/model/folded_read.c,
 * perf_script_read.c) and format detection (src/model/load.c): each
 * input is read as detected, then as folded stacks and as perf script
 * text, with a small frame limit so truncation runs too; a profile that
 * loads is walked the way reports walk it.
 *
 * Build: make fuzz; run: build/fuzz/fuzz-text -max_total_time=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/model/profile.h"
#include "fuzz_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum profile_format forms[] = { PROFILE_FORMAT_UNKNOWN, PROFILE_FORMAT_FOLDED,
						     PROFILE_FORMAT_PERF_SCRIPT };
	struct profile_text_limits lim = { 8, 4096 };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		/* fmemopen of 0 bytes fails: an empty input reads as "". */
		FILE *f = fmemopen(size ? (void *)data : (void *)"", size ? size : 1, "r");
		if (!f)
			return 0;
		char err[512];
		struct profile *p = profile_load_stream(f, "fuzz", forms[i], NULL, &lim,
							size & 1 ? PROFILE_SAMPLE_TIMES : 0, err,
							sizeof(err));
		fclose(f);
		if (p)
			fuzz_walk(p);
		profile_free(p);
	}
	return 0;
}
