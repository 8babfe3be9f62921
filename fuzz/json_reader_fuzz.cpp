// Fuzz target: the JSON reader (json/reader) and writer (json/writer). The input is the JSON
// text. Whatever parse() accepts is walked to the leaves, calling every getter on every value
// and checking that the getters agree with the value's kind; each string is written back with
// the Writer and must decode to the same bytes, and the whole document rebuilt with the Writer
// must parse and rebuild to the same text again (Pion TryMarshalUnmarshal).
#include "json/reader.hpp"
#include "json/writer.hpp"

#include "base/utf8.hpp"
#include "fuzz_check.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace {
using namespace switchboard::json;

bool is_inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_string(Value v) {
    std::string decoded;
    SB_FUZZ_CHECK(get_string(v, decoded));
    SB_FUZZ_CHECK(switchboard::is_valid_utf8(
        {reinterpret_cast<const std::uint8_t *>(decoded.data()), decoded.size()}));
    std::string_view plain;
    const bool escaped = v.raw.find('\\') != std::string_view::npos;
    SB_FUZZ_CHECK(plain_string(v, plain) == !escaped);
    if (!escaped)
        SB_FUZZ_CHECK(plain == decoded);
    // The raw string is also a raw key: key_is must match its decoded form and nothing shorter.
    const std::string_view key = v.raw.substr(1, v.raw.size() - 2);
    SB_FUZZ_CHECK(key_is(key, decoded));
    if (!decoded.empty())
        SB_FUZZ_CHECK(!key_is(key, std::string_view(decoded).substr(1)));

    std::string written;
    Writer(written).string(decoded);
    Value again;
    SB_FUZZ_CHECK(parse(written, again) == Error::None);
    SB_FUZZ_CHECK(again.kind == Kind::String);
    std::string back;
    SB_FUZZ_CHECK(get_string(again, back));
    SB_FUZZ_CHECK(back == decoded);
}

void check_number(Value v) {
    std::uint64_t u = 0;
    std::int64_t i = 0;
    double d = 0;
    std::string w;
    if (get_u64(v, u)) {
        Writer(w).number(u);
        SB_FUZZ_CHECK(w == v.raw); // JSON integers have one spelling (no '+', no leading zeros)
        SB_FUZZ_CHECK(get_i64(v, i) == (u <= 0x7FFFFFFFFFFFFFFFu));
    }
    if (get_i64(v, i)) {
        w.clear();
        Writer(w).number(i);
        SB_FUZZ_CHECK(w == v.raw || (v.raw == "-0" && w == "0"));
    }
    if (get_double(v, d)) {
        SB_FUZZ_CHECK(std::isfinite(d));
        w.clear();
        Writer(w).number(d);
        Value again;
        SB_FUZZ_CHECK(parse(w, again) == Error::None);
        double back = 0;
        SB_FUZZ_CHECK(get_double(again, back));
        SB_FUZZ_CHECK(back == d && std::signbit(back) == std::signbit(d));
    }
}

// Checks `v` and everything under it, and rebuilds it into `w`.
void walk(Value v, Writer &w, unsigned depth) {
    SB_FUZZ_CHECK(depth <= Limits{}.max_depth);
    SB_FUZZ_CHECK(!v.raw.empty() && detail::kind_of(v.raw.front()) == v.kind);
    bool b = false;
    SB_FUZZ_CHECK(get_bool(v, b) == (v.kind == Kind::True || v.kind == Kind::False));
    std::uint64_t u;
    std::int64_t i;
    double d;
    std::string s;
    if (v.kind != Kind::Number)
        SB_FUZZ_CHECK(!get_u64(v, u) && !get_i64(v, i) && !get_double(v, d));
    if (v.kind != Kind::String)
        SB_FUZZ_CHECK(!get_string(v, s));

    switch (v.kind) {
    case Kind::Null:
        w.null();
        break;
    case Kind::False:
    case Kind::True:
        w.boolean(b);
        break;
    case Kind::Number:
        check_number(v);
        w.raw(v.raw);
        break;
    case Kind::String:
        check_string(v);
        get_string(v, s);
        w.string(s);
        break;
    case Kind::Array: {
        w.begin_array();
        for_each_element(v, [&](Value e) {
            SB_FUZZ_CHECK(is_inside(e.raw, v.raw));
            walk(e, w, depth + 1);
            return true;
        });
        w.end_array();
        break;
    }
    case Kind::Object: {
        w.begin_object();
        for_each_member(v, [&](std::string_view k, Value m) {
            SB_FUZZ_CHECK(is_inside(k, v.raw) && is_inside(m.raw, v.raw));
            std::string name;
            SB_FUZZ_CHECK(get_string(
                Value{Kind::String, std::string_view(k.data() - 1, k.size() + 2)}, name));
            SB_FUZZ_CHECK(key_is(k, name));
            w.key(name);
            walk(m, w, depth + 1);
            return true;
        });
        w.end_object();
        break;
    }
    }
}

std::string rebuild(Value v) {
    std::string out;
    Writer w(out);
    walk(v, w, 0);
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    Value v;
    const Error e = parse(text, v);
    SB_FUZZ_CHECK(error_text(e) != nullptr);

    // A tighter depth limit can only turn the result into TooDeep (reached at the same place
    // or earlier); a tighter size limit always gives TooLarge.
    Value tight;
    const Error shallow = parse(text, tight, Limits{3, Limits{}.max_size});
    SB_FUZZ_CHECK(shallow == e || shallow == Error::TooDeep);
    if (size > 0)
        SB_FUZZ_CHECK(parse(text, tight, Limits{32, size - 1}) == Error::TooLarge);
    if (e != Error::None)
        return 0;

    SB_FUZZ_CHECK(is_inside(v.raw, text));
    const std::string first = rebuild(v);
    Value again;
    SB_FUZZ_CHECK(parse(first, again) == Error::None);
    SB_FUZZ_CHECK(again.kind == v.kind);
    SB_FUZZ_CHECK(rebuild(again) == first);
    return 0;
}
