// Precompiled header shared by every translation unit of the addon.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <napi.h>
