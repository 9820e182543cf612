#!/usr/bin/env python3
"""Validates OpenAPI 3.1 documents with openapi-spec-validator (the version pinned in
requirements.txt beside this file), several at once on as many processes as there are
cores: the document against the OpenAPI 3.1 schema, every Schema Object against the 3.1
dialect of JSON Schema 2020-12, every $ref resolved, operation ids unique, path
parameters declared.

    validate.py FILE...     one JSON line per file: {"path", "valid", "errors"}
    validate.py --version   the validator's version (exit 3 when it is not installed)
"""

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor


def validator_version():
    try:
        import importlib.metadata

        import openapi_spec_validator  # noqa: F401

        return importlib.metadata.version("openapi-spec-validator")
    except Exception:  # not installed, or installed without its metadata
        return None


def validate(path):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    errors = []
    try:
        for error in OpenAPIV31SpecValidator(document).iter_errors():
            where = "/".join(str(p) for p in getattr(error, "absolute_path", []) or [])
            errors.append(f"{where}: {str(error).splitlines()[0][:500]}")
            if len(errors) == 20:
                break
    except Exception as error:  # a $ref to nowhere stops the validator: an error too
        errors.append(f"the validator stopped: {type(error).__name__}: {str(error)[:500]}")
    return {"path": path, "valid": not errors, "errors": errors}


def main(args):
    version = validator_version()
    if args == ["--version"]:
        if version is None:
            return 3
        print(version)
        return 0
    if version is None:
        print("openapi-spec-validator is not installed", file=sys.stderr)
        return 3
    # The largest documents first, so that no process is left with one at the end.
    files = sorted(args, key=lambda p: -os.path.getsize(p))
    with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for result in pool.map(validate, files):
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
