# The two commands a fresh Debian machine needs (see README.md).
.PHONY: run test chaos build setup clean

run:
	scripts/run.sh

test:
	scripts/test.sh

# The long fault runs (release build; kill -9 / SIGSTOP of Redis, kill -9 of a hub under load);
# writes var/chaos/results.md. Not part of `make test`.
chaos:
	scripts/chaos.sh

setup:
	scripts/setup.sh

build: setup
	swift build

clean:
	rm -rf .build var
