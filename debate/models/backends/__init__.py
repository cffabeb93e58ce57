"""The built-in model backends, one file per kind of source. Each registers, under its spec's
scheme (the part before ':'; a spec with no ':' is a scheme of its own, like `smollm2`), a
function (spec, rest) -> LanguageModel whose docstring's first line is the spec's form, as
errors and `debate models` list it. A new file here is a new backend; a third-party package
adds one through the `debate_harness.backend` entry-point group."""
