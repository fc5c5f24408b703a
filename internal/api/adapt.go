package api

import (
	"context"
	"net/http"

	"github.com/custodyhq/custody/internal/register"
)

// Most routes are one register call: check the path's {id}, decode the JSON body, call, answer.
// These adapters write that once, so a route reads as what it calls — byID(s.reg.Session). The
// id is checked before the body is read and both are refused as pathID and decode word it (400),
// so statuses and error bodies are those of a handler written out by hand. A route that does
// more than the call (raises alerts after it, reads an optional body, answers another shape)
// keeps its own handler.

// byID is a handler for a call on the path's {id}.
func byID[T any](call func(context.Context, register.Actor, int64) (T, error)) handler {
	return func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		return call(ctx, a, id)
	}
}

// withBody is a handler for a call with the request's JSON body.
func withBody[B, T any](call func(context.Context, register.Actor, B) (T, error)) handler {
	return func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
		var req B
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return call(ctx, a, req)
	}
}

// byIDWithBody is a handler for a call on the path's {id} with the request's JSON body.
func byIDWithBody[B, T any](call func(context.Context, register.Actor, int64, B) (T, error)) handler {
	return func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		var req B
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return call(ctx, a, id, req)
	}
}
