// Typed reads from nlohmann::json for values that come from files. nlohmann's get<int>() of a
// float (1e300) or of an integer out of the target's range is a bare static_cast: undefined
// behaviour or a silently wrapped count. jsonAs<T> refuses both instead (std::nullopt).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace sparsetrace::core {

template <class T> struct IsVector : std::false_type {};
template <class U> struct IsVector<std::vector<U>> : std::true_type {};

// The value as T when it has T's JSON type and, for integers, lies in T's range.
template <class T> std::optional<T> jsonAs(const nlohmann::json& v)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) return std::nullopt;
        return v.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
        if (v.is_number_unsigned()) {
            const auto u = v.get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
            return static_cast<T>(u);
        }
        if (!v.is_number_integer()) return std::nullopt;
        const auto s = v.get<std::int64_t>();
        if constexpr (std::is_signed_v<T>) {
            if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max()) return std::nullopt;
        } else {
            if (s < 0 || static_cast<std::uint64_t>(s) > std::numeric_limits<T>::max()) return std::nullopt;
        }
        return static_cast<T>(s);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) return std::nullopt;
        return v.get<T>();
    } else if constexpr (IsVector<T>::value) {
        if (!v.is_array()) return std::nullopt;
        T out;
        out.reserve(v.size());
        for (const auto& e : v) {
            auto x = jsonAs<typename T::value_type>(e);
            if (!x) return std::nullopt;
            out.push_back(std::move(*x));
        }
        return out;
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
        return v;
    } else {
        static_assert(std::is_same_v<T, std::string>, "jsonAs: add the type");
        if (!v.is_string()) return std::nullopt;
        return v.get<std::string>();
    }
}

} // namespace sparsetrace::core
