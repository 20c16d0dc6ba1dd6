/* What the model-level fuzz targets do with a profile that loads: walk it
 * the way reports walk it. */
#ifndef FUZZ_WALK_H
#define FUZZ_WALK_H

#include <stdlib.h>

#include "../../src/model/filter.h"
#include "../../src/model/profile.h"

static void fuzz_walk(struct profile *p)
{
	struct profile_frames pf;
	profile_frames_build(p, &pf);
	free(profile_function_totals(p, &pf));
	profile_frames_free(&pf);
}

#endif
