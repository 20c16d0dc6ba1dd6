/* Finding files: a recorded module path on this machine (path map,
 * sysroot), and a module's separate debug file the way distributions
 * ship them (build-id directory, .gnu_debuglink) or from a debuginfod
 * server. See sym_internal.h. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "../util/util.h"
#include "sym_internal.h"

#define SYSTEM_DEBUG_DIR "/usr/lib/debug"

/* open() for a file we will mmap: never block on a FIFO someone put in
 * the way, and refuse anything that is not a regular file. */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL; /* "Invalid argument": not a regular file */
		return -1;
	}
	return fd;
}

int sym_open_module(struct symbolizer *s, const char *recorded, char *opened, size_t len)
{
	const struct sym_options *o = &s->opts;
	int fd, err = ENOENT;
	for (size_t i = 0; i < o->npath_map; i++) {
		const char *from = o->path_map[i].from;
		size_t n = strlen(from);
		/* A prefix that ends at a path component: /opt/a maps /opt/a/x,
		 * not /opt/ab. */
		if (!n || strncmp(recorded, from, n) != 0 ||
		    (from[n - 1] != '/' && recorded[n] != '/' && recorded[n] != '\0'))
			continue;
		snprintf(opened, len, "%s%s", o->path_map[i].to, recorded + n);
		if ((fd = open_regular(opened)) >= 0)
			return fd;
		err = errno;
	}
	if (o->sysroot && *o->sysroot && recorded[0] == '/') {
		snprintf(opened, len, "%s%s", o->sysroot, recorded);
		if ((fd = open_regular(opened)) >= 0)
			return fd;
		err = errno;
	}
	snprintf(opened, len, "%s", recorded);
	if ((fd = open_regular(opened)) >= 0)
		return fd;
	/* The first failure says most (the mapped path the user asked for). */
	if (o->npath_map == 0 && !(o->sysroot && *o->sysroot))
		err = errno;
	errno = err;
	return -1;
}

Elf *sym_elf_open(const char *path)
{
	int fd = open_regular(path);
	if (fd < 0)
		return NULL;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf)
		elf_cntl(elf, ELF_C_FDDONE);
	close(fd);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		return elf;
	if (elf)
		elf_end(elf);
	errno = ENOEXEC;
	return NULL;
}

/* The directories debug files live under, most specific first: the
 * user's, the sysroot's, the system's. */
static size_t debug_dirs(const struct symbolizer *s, char dirs[][4096], size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < s->opts.ndebug_dirs && n < cap; i++)
		snprintf(dirs[n++], 4096, "%s", s->opts.debug_dirs[i]);
	if (s->opts.sysroot && *s->opts.sysroot && n < cap)
		snprintf(dirs[n++], 4096, "%s%s", s->opts.sysroot, SYSTEM_DEBUG_DIR);
	if (n < cap)
		snprintf(dirs[n++], 4096, "%s", SYSTEM_DEBUG_DIR);
	return n;
}

/* A candidate is the module's debug file when its build-id matches (or,
 * for a .gnu_debuglink without build-ids, its CRC does) and it holds
 * something we can use. */
static Elf *accept(const struct sym_module *mod, const char *path, bool check_crc,
		   uint32_t crc)
{
	Elf *elf = sym_elf_open(path);
	if (!elf)
		return NULL;
	uint8_t bid[64];
	size_t bid_len;
	sym_elf_build_id(elf, bid, &bid_len);
	bool ok;
	if (mod->build_id_len && bid_len) {
		ok = bid_len == mod->build_id_len && memcmp(bid, mod->build_id, bid_len) == 0;
	} else if (check_crc) {
		/* gdb's rule: the CRC-32 of the whole debug file. Only read
		 * when there is no build-id to compare. */
		size_t size;
		const char *raw = elf_rawfile(elf, &size);
		uLong c = crc32(0L, Z_NULL, 0);
		for (size_t off = 0; raw && off < size; off += 1u << 30) {
			size_t n = size - off < (1u << 30) ? size - off : (1u << 30);
			c = crc32(c, (const Bytef *)raw + off, (uInt)n);
		}
		ok = raw && c == crc;
	} else {
		ok = false; /* found by build-id path but says nothing: not trusted */
	}
	if (ok && (sym_elf_has_dwarf(elf) || sym_elf_has_symtab(elf)))
		return elf;
	elf_end(elf);
	return NULL;
}

/* .gnu_debuglink: a file name, NUL, padding to 4, then a CRC-32. */
static bool read_debuglink(Elf *bin, char *name, size_t len, uint32_t *crc)
{
	GElf_Shdr sh;
	Elf_Scn *scn = sym_elf_section(bin, ".gnu_debuglink", &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf || d->d_size < 8)
		return false;
	const char *p = d->d_buf;
	size_t n = strnlen(p, d->d_size);
	size_t crc_off = (n + 4) & ~(size_t)3;
	/* A name with a slash would let a binary point anywhere. */
	if (n == 0 || n >= len || crc_off + 4 > d->d_size || memchr(p, '/', n))
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	const uint8_t *c = (const uint8_t *)p + crc_off;
	/* Stored in the file's byte order. */
	GElf_Ehdr eh;
	bool be = gelf_getehdr(bin, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;
	*crc = be ? (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3]
		  : (uint32_t)c[3] << 24 | (uint32_t)c[2] << 16 | (uint32_t)c[1] << 8 | c[0];
	return true;
}

static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* --- debuginfod, loaded at run time so oneprof builds and runs without
 * it; the few prototypes are libdebuginfod's stable ABI (ELFUTILS_0.178). */

typedef void *(*dfd_begin_fn)(void);
typedef int (*dfd_find_fn)(void *client, const unsigned char *build_id, int build_id_len,
			   char **path);
typedef void (*dfd_end_fn)(void *client);

static dfd_find_fn dfd_find;
static dfd_end_fn dfd_end;

static Elf *from_debuginfod(struct symbolizer *s, const struct sym_module *mod, char *found,
			    size_t len)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	/* No URL, no network: that is the contract users rely on. */
	if (s->opts.no_debuginfod || !urls || !*urls || !mod->build_id_len)
		return NULL;
	if (!s->dfd_tried) {
		s->dfd_tried = true;
		s->dfd_lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
		dfd_begin_fn begin = s->dfd_lib ? (dfd_begin_fn)dlsym(s->dfd_lib, "debuginfod_begin")
						: NULL;
		dfd_find = s->dfd_lib ? (dfd_find_fn)dlsym(s->dfd_lib, "debuginfod_find_debuginfo")
				      : NULL;
		dfd_end = s->dfd_lib ? (dfd_end_fn)dlsym(s->dfd_lib, "debuginfod_end") : NULL;
		if (begin && dfd_find && dfd_end)
			s->dfd_client = begin();
		if (!s->dfd_client)
			sym_warn(s, "DEBUGINFOD_URLS is set but libdebuginfod.so.1 could not be "
				    "%s; install libdebuginfod1 to fetch debug info from a server",
				 s->dfd_lib ? "started" : "loaded");
	}
	if (!s->dfd_client)
		return NULL;
	char *path = NULL;
	int fd = dfd_find(s->dfd_client, mod->build_id, (int)mod->build_id_len, &path);
	if (fd < 0) {
		char id[129];
		for (size_t i = 0; i < mod->build_id_len; i++)
			snprintf(id + 2 * i, 3, "%02x", mod->build_id[i]);
		sym_warn(s, "debuginfod (%s) has no debug info for module '%s' (build-id %s): %s; "
			    "its frames have no source lines or inlined functions",
			 urls, mod->path, id, strerror(-fd));
		free(path);
		return NULL;
	}
	close(fd);
	Elf *elf = NULL;
	if (path) {
		snprintf(found, len, "%s", path);
		elf = accept(mod, path, false, 0);
	}
	free(path);
	return elf;
}

void sym_debuginfod_end(struct symbolizer *s)
{
	if (s->dfd_client && dfd_end)
		dfd_end(s->dfd_client);
	s->dfd_client = NULL;
	if (s->dfd_lib)
		dlclose(s->dfd_lib);
	s->dfd_lib = NULL;
}

Elf *sym_find_debug(struct symbolizer *s, const struct sym_module *mod, Elf *bin,
		    const char *bin_path, char *found, size_t len)
{
	char dirs[8][4096];
	size_t ndirs = debug_dirs(s, dirs, 8);
	Elf *elf;

	/* By build-id: exact, and how distributions lay out -dbgsym files. */
	if (mod->build_id_len >= 2) {
		char id[129];
		for (size_t i = 0; i < mod->build_id_len; i++)
			snprintf(id + 2 * i, 3, "%02x", mod->build_id[i]);
		for (size_t d = 0; d < ndirs; d++) {
			snprintf(found, len, "%s/.build-id/%.2s/%s.debug", dirs[d], id, id + 2);
			if ((elf = accept(mod, found, false, 0)))
				return elf;
		}
	}

	/* By .gnu_debuglink: beside the binary, in .debug/ beside it, and
	 * under each debug directory at the binary's own directory. */
	char name[256];
	uint32_t crc = 0;
	if (bin && bin_path && read_debuglink(bin, name, sizeof(name), &crc)) {
		char bdir[4096], rdir[4096];
		dir_of(bin_path, bdir, sizeof(bdir));
		dir_of(mod->path, rdir, sizeof(rdir));
		char cands[2 + 8][4096 + 300];
		size_t nc = 0;
		snprintf(cands[nc++], sizeof(cands[0]), "%s/%s", bdir, name);
		snprintf(cands[nc++], sizeof(cands[0]), "%s/.debug/%s", bdir, name);
		for (size_t d = 0; d < ndirs; d++)
			snprintf(cands[nc++], sizeof(cands[0]), "%s%s/%s", dirs[d], rdir, name);
		for (size_t c = 0; c < nc; c++) {
			if (strcmp(cands[c], bin_path) == 0)
				continue; /* the binary links to itself: not a debug file */
			if ((elf = accept(mod, cands[c], true, crc))) {
				snprintf(found, len, "%s", cands[c]);
				return elf;
			}
		}
	}

	return from_debuginfod(s, mod, found, len);
}
