/**
 * \file rivet/net.h
 * \brief rivet-net: everything, in one include.
 *
 * The conventions of every rivet library (errors, NULL, ownership,
 * aliasing, threads) are stated at the top of `<rivet/core.h>`.
 */
#pragma once

#include <rivet/core.h>
#include <rivet/net/frame.h>
#include <rivet/net/http-server.h>
#include <rivet/net/http.h>
#include <rivet/net/loop.h>
#include <rivet/net/metrics.h>
#include <rivet/net/prefork.h>
#include <rivet/net/ratelimit.h>
#include <rivet/net/router.h>
#include <rivet/net/server.h>
#include <rivet/net/trace.h>
#include <rivet/net/version.h>
