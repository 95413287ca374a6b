// Package spec holds the ROPE v1 specification (rope-v1.md, messages.md), its JSON
// Schemas (schema/) and example messages (examples/). It contains no code; its test
// checks that the schemas and examples are well-formed and that every example
// validates (or, if marked "valid": false, fails to validate) against its schema.
package spec
