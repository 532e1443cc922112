# tenant_inventory: PostgreSQL extension (PGXS). The fetcher, the mock Graph
# server and the C++ unit tests are built by CMakeLists.txt.
EXTENSION    = tenant_inventory
EXTVERSION   = $(shell grep -m1 default_version $(EXTENSION).control | sed -e "s/.*'\(.*\)'.*/\1/")
MODULE_big   = $(EXTENSION)
OBJS         = $(patsubst %.cpp,%.o,$(wildcard extension/*.cpp)) \
               core/canonical.o core/meta_rules.o core/redact.o core/sha256.o
# SQL: versionless sources in sql/src, concatenated into the install script
# of the current version and into the upgrade script from the last release
# (its own steps in sql/upgrade, then every replaceable source again: those
# files only CREATE OR REPLACE, so each function and view has one home).
# Released scripts are committed and never edited; built ones are not.
SQL_REPLACEABLE = sql/src/rules.sql sql/src/access.sql sql/src/views.sql sql/src/lifecycle.sql \
                  sql/src/grants.sql sql/src/privileges.sql
SQL_INSTALL  = sql/src/functions_c.sql sql/src/tables.sql sql/src/history.sql $(SQL_REPLACEABLE)
SQL_UPGRADE  = sql/src/functions_c.sql sql/upgrade/0.1.0--$(EXTVERSION).sql sql/src/history.sql \
               $(SQL_REPLACEABLE) sql/upgrade/0.1.0--$(EXTVERSION).post.sql
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql
DATA         = sql/$(EXTENSION)--0.1.0.sql
DOCS         = README.md

TESTS        = $(sort $(wildcard test/sql/*.sql))
REGRESS      = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)
ISOLATION    = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)
EXTRA_CLEAN  = results/ output_iso/ regression.diffs regression.out \
               $(EXTENSION)-$(EXTVERSION).zip

PG_CONFIG   ?= pg_config
PG_CPPFLAGS  = -Icore
PG_CXXFLAGS  = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register -fno-strict-aliasing
SHLIB_LINK   = -lstdc++ -lcrypto

# The bitcode for JIT inlining would be compiled by clang without PG_CXXFLAGS;
# these functions gain nothing from inlining into JIT code, so skip it.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_INSTALL) $(EXTENSION).control
	{ echo '-- $(EXTENSION) $(EXTVERSION): built from sql/src (edit those files)'; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	  cat $(SQL_INSTALL); } > $@

sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql: $(SQL_UPGRADE) $(EXTENSION).control
	{ echo '-- $(EXTENSION) 0.1.0 -> $(EXTVERSION): built from sql/upgrade and sql/src (edit those files)'; \
	  printf '%s\n' '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit'; \
	  cat $(SQL_UPGRADE); } > $@

# META.json must carry the control file's version (PGXN release metadata).
# Benchmarks against their baselines (bench/run.sh; BENCH_SIZE=ci|full).
BENCH_SIZE ?= full
.PHONY: bench
bench:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build --target inventory-bench-load inventory-fetch inventory-mock-graph
	BENCH_SIZE=$(BENCH_SIZE) ./bench/run.sh

# The long reliability run (test/reliability/run.sh; RELIABILITY.md): many
# kill rounds, restarts and network faults, load at three sizes, 5 minutes of
# each fuzz target. Needs the extension installed; builds the C++ targets
# (plain and sanitized) itself; writes the results table to RELIABILITY_REPORT.
RELIABILITY_REPORT ?= reliability-soak.md
.PHONY: soak
soak:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTINV_SANITIZE=ON >/dev/null && cmake --build build-asan --target inventory-fetch
	BUILD_DIR=$(CURDIR)/build ASAN_BUILD_DIR=$(CURDIR)/build-asan RELIABILITY_SIZE=soak \
	  RELIABILITY_REPORT=$(RELIABILITY_REPORT) ./test/reliability/run.sh

.PHONY: check-meta dist
check-meta:
	@jq -e --arg v "$(EXTVERSION)" '.version == $$v and .provides.$(EXTENSION).version == $$v and .name == "$(EXTENSION)" and (.abstract | length > 0) and (.maintainer | length > 0) and .license != null and ."meta-spec".version == "1.0.0"' META.json >/dev/null \
	  || { echo "META.json does not match $(EXTENSION).control (version $(EXTVERSION)) or lacks required keys" >&2; exit 1; }

dist: check-meta
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD
