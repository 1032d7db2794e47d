# The two commands a fresh Debian machine needs (see README.md).
.PHONY: run test sanitize build setup clean

run:
	scripts/run.sh

test:
	scripts/test.sh

# AddressSanitizer over every test, ThreadSanitizer over the hub tests with two workers (README).
sanitize:
	scripts/sanitize.sh all

setup:
	scripts/setup.sh

build: setup
	swift build

clean:
	rm -rf .build .build-asan .build-tsan var
