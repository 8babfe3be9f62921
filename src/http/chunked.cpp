#include "http/chunked.hpp"

#include "base/text.hpp"

#include <cstring>

namespace switchboard::http {

ChunkedDecoder::Step ChunkedDecoder::feed(const std::uint8_t* in, std::size_t n, std::uint8_t* out,
                                          std::size_t& written, std::size_t max_body) {
    Step st;
    std::size_t i = 0;
    auto fail = [&](int code, std::string_view why) {
        st.status = Status::Error;
        st.consumed = i;
        st.http_status = code;
        st.reason = why;
        return st;
    };
    while (i < n) {
        const std::uint8_t c = in[i];
        switch (state_) {
        case State::Size: {
            int v = hex_digit(c);
            if (v >= 0) {
                if (++digits_ > 15) return fail(400, "chunk size too long");
                size_ = size_ * 16 + static_cast<std::uint64_t>(v);
                ++i;
                break;
            }
            if (digits_ == 0) return fail(400, "malformed chunk size");
            if (c == '\r') state_ = State::SizeLf;
            else if (c == ';' || c == ' ' || c == '\t') state_ = State::Extension;
            else return fail(400, "malformed chunk size");
            ++i;
            break;
        }
        case State::Extension:
            // Extensions carry nothing we use; they are skipped, within a bound.
            if (c == '\r') state_ = State::SizeLf;
            else if (++extension_ > kMaxExtension) return fail(400, "chunk extension too long");
            else if (c == '\n' || c == 0) return fail(400, "malformed chunk extension");
            ++i;
            break;
        case State::SizeLf:
            if (c != '\n') return fail(400, "chunk size line must end with CRLF");
            ++i;
            digits_ = 0;
            extension_ = 0;
            if (size_ == 0) {
                state_ = State::TrailerStart;
            } else {
                if (size_ > max_body - total_) return fail(413, "request body too large");
                state_ = State::Data;
            }
            break;
        case State::Data: {
            std::size_t take = n - i;
            if (take > size_) take = static_cast<std::size_t>(size_);
            std::memmove(out + written, in + i, take); // may overlap: dst <= src
            written += take;
            total_ += take;
            size_ -= take;
            i += take;
            if (size_ == 0) state_ = State::DataCr;
            break;
        }
        case State::DataCr:
            if (c != '\r') return fail(400, "chunk data must end with CRLF");
            state_ = State::DataLf;
            ++i;
            break;
        case State::DataLf:
            if (c != '\n') return fail(400, "chunk data must end with CRLF");
            state_ = State::Size;
            ++i;
            break;
        case State::TrailerStart:
            if (c == '\r') state_ = State::FinalLf;
            else state_ = State::Trailer;
            if (++trailers_ > kMaxTrailers) return fail(431, "trailer section too large");
            ++i;
            break;
        case State::Trailer:
            // Trailer fields are read past, not used (RFC 9110 §6.5.1 lets a server ignore them).
            if (++trailers_ > kMaxTrailers) return fail(431, "trailer section too large");
            if (c == '\r') state_ = State::TrailerLf;
            else if (c == '\n' || c == 0) return fail(400, "malformed trailer field");
            ++i;
            break;
        case State::TrailerLf:
            if (c != '\n') return fail(400, "trailer field must end with CRLF");
            state_ = State::TrailerStart;
            ++i;
            break;
        case State::FinalLf:
            if (c != '\n') return fail(400, "chunked body must end with CRLF");
            state_ = State::Done;
            ++i;
            st.status = Status::Done;
            st.consumed = i;
            return st;
        case State::Done:
            st.status = Status::Done;
            st.consumed = i;
            return st;
        }
    }
    st.consumed = i;
    st.status = state_ == State::Done ? Status::Done : Status::NeedMore;
    return st;
}

} // namespace switchboard::http
