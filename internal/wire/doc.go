// Package wire holds the HTTP names the parts of scalebench exchange: the
// response headers by which a function (or the queue-proxy in front of it)
// tells the load generator which instance served a request and whether it
// was a cold start, and the query parameter that carries a request's work.
//
// It is a package of constants only, so cmd/fn can use them without
// linking the load generator: every package fn imports is initialised in
// every pod's process start, which is on the cold-start path.
package wire
