# fffs - one GNU Makefile.
#   make            build ./fffs
#   make test       install deps, build, run the whole suite with prove
#   make check      formatting check, lint, man page current, ASan+UBSan unit tests
#   make lab        install deps, build, start a cluster on this host
#   make fuzz       build and run the libFuzzer targets (clang)
#   make fmt        reformat the tree with clang-format
#   make man        regenerate man/fffs.1 from man/fffs.1.in and the tables
#   V=1 verbose, SAN=1 ASan+UBSan build (into obj-san/)

PKGS    := liburing lmdb fuse3 libcjson libsodium libibverbs librdmacm
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter -Wpointer-arith \
	   -Wformat=2 -Wvla
BASECF  := -std=gnu11 -g $(OPT) -D_GNU_SOURCE -I. $(WARN) -pthread \
	   -msse4.2 -mpclmul $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm

ifeq ($(SAN),1)
OBJ     := obj-san
BASECF  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIBS    += -fsanitize=address,undefined
else
OBJ     := obj
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

SRCDIRS := base net mgmt chain meta fuse roles
SRCS    := $(foreach d,$(SRCDIRS),$(wildcard $(d)/*.c))
OBJS    := $(patsubst %.c,$(OBJ)/%.o,$(SRCS))
UNITSRC := $(wildcard t/unit/*.c)
UNITS   := $(patsubst t/unit/%.c,$(OBJ)/t/unit/%,$(UNITSRC))
# what several unit test programs share (each takes what it uses)
UNITLIBO := $(patsubst %.c,$(OBJ)/%.o,$(wildcard t/unit/lib/*.c))
UNITLIB := $(OBJ)/t/unit/libunit.a
FUZZSRC := $(wildcard t/fuzz/*.c)
DEPS    := $(OBJS:.o=.d) $(UNITLIBO:.o=.d) $(OBJ)/fffs.d

.PHONY: all test check lab fuzz fmt fmt-check lint man install clean units deps

all: fffs $(UNITS)

ifeq ($(SAN),1)
fffs: $(OBJ)/fffs
	@: # the sanitizer build stays in $(OBJ)/fffs
else
fffs: $(OBJ)/fffs
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@
endif

$(OBJ)/fffs: $(OBJ)/fffs.o $(OBJ)/libfffs.a
	@echo "  LD      $@"
	$(Q)$(CC) -o $@ $^ $(LIBS)

$(OBJ)/libfffs.a: $(OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(BASECF) $(CFLAGS) -MMD -MP -c -o $@ $<

$(UNITLIB): $(UNITLIBO)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(OBJ)/t/unit/%: t/unit/%.c $(UNITLIB) $(OBJ)/libfffs.a t/unit/tap.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(BASECF) $(CFLAGS) -o $@ $< $(UNITLIB) $(OBJ)/libfffs.a $(LIBS)

units: $(UNITS)

deps:
	$(Q)./tools/deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)FFFS_OBJ=$(OBJ) prove -j2 --timer t/*.t

# ASan+UBSan build of everything, then the unit tests under it.
check: fmt-check lint fffs
	$(Q)./tools/mkman.sh | cmp -s - man/fffs.1 || \
		{ echo "man/fffs.1 is stale: run 'make man'"; exit 1; }
	$(Q)$(MAKE) --no-print-directory SAN=1 units
	$(Q)FFFS_OBJ=obj-san prove t/unit.t

# A whole cluster on this host, mounted (fffs lab up; LAB_DIR to move it).
LAB_DIR ?= /tmp/fffs-lab
lab: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./fffs lab up --dir $(LAB_DIR)

fuzz:
	$(Q)./tools/fuzz.sh $(FUZZSECS)

fmt:
	$(Q)clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h')

fmt-check:
	$(Q)./tools/lint.sh fmt

lint:
	$(Q)./tools/lint.sh lint

man: fffs
	$(Q)./tools/mkman.sh > man/fffs.1.tmp && mv man/fffs.1.tmp man/fffs.1

install: fffs
	install -D -m 0755 fffs $(DESTDIR)/usr/local/bin/fffs
	install -D -m 0644 man/fffs.1 $(DESTDIR)/usr/local/share/man/man1/fffs.1
	install -D -m 0755 tools/mount.fuse.fffs $(DESTDIR)/sbin/mount.fuse.fffs

clean:
	rm -rf obj obj-san obj-fuzz fffs

-include $(DEPS)
