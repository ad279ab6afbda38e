"""Entry points: the CLI, the SDK, and the inference HTTP app. Thin: parse, call a service, render."""
