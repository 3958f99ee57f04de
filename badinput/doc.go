// Package badinput is the one error type for a user's mistake: a malformed
// scenario, trace, series, flag or manifest. Every parser and library in
// scalebench reports such a mistake as an *Error, and every command maps it
// to exit status 2 the same way (Is), so a typo never looks like a crash
// and a crash never looks like a typo.
//
// The message is one line naming the place and what was expected:
// "file:line: key: what was expected" when the place is known.
package badinput
