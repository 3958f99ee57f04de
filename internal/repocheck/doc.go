// Package repocheck holds the tests that keep the repository standing alone:
// it runs from a clone with nothing beside it, names no path outside itself,
// and every file its documentation and --help texts point to exists.
//
// It has no code of its own; the checks are its tests.
package repocheck
