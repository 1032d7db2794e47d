# The two commands a fresh Debian machine needs (see README.md).
.PHONY: run test sanitize chaos build setup clean

run:
	scripts/run.sh

test:
	scripts/test.sh

# AddressSanitizer over every test, ThreadSanitizer over the hub tests with two workers (README).
sanitize:
	scripts/sanitize.sh all

# The long fault runs (release build; kill -9 / SIGSTOP of Redis, kill -9 of a hub under load);
# writes var/chaos/results.md. Not part of `make test`.
chaos:
	scripts/chaos.sh

setup:
	scripts/setup.sh

build: setup
	swift build

clean:
	rm -rf .build .build-asan .build-tsan var
