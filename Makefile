# The two commands a fresh Debian machine needs (see README.md).
.PHONY: run test build setup clean

run:
	scripts/run.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

build: setup
	swift build

clean:
	rm -rf .build var
