/**
 * \file rivet/iot.h
 * \brief rivet-iot: everything, in one include.
 *
 * The conventions of every rivet library (errors, NULL, ownership,
 * aliasing, threads) are stated at the top of `<rivet/core.h>`.
 */
#pragma once

#include <rivet/core.h>
#include <rivet/iot/bus.h>
#include <rivet/iot/env1-model.h>
#include <rivet/iot/env1.h>
#include <rivet/iot/mockbus.h>
#include <rivet/iot/sensor.h>
#include <rivet/iot/version.h>
