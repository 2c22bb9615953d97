// The gRPC front-end's pieces on their own: the shared-memory mapping, descriptor validation, turning a
// sample into a frame, and the protobuf inference writer.
#include "frames/shared_memory_mapping.h"
#include "grpc/frame_format.h"
#include "inferences/proto_writer.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

namespace ava {
namespace {

using grpc_frontend::contract::MediaDescriptor;
using grpc_frontend::contract::MediaSample;
using Format = grpc_frontend::contract::VideoFrameSampleFormat;

// A private folder standing in for /dev/shm.
class ShmFolder {
public:
    ShmFolder()
    {
        std::random_device random;
        path_ = std::filesystem::temp_directory_path() / ("ava-shm-test." + std::to_string(random()));
        std::filesystem::create_directories(path_);
    }
    ~ShmFolder() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }
    void create(const std::string& name, std::size_t size, char fill = 'x') const
    {
        std::ofstream(path_ / name, std::ios::binary) << std::string(size, fill);
    }

private:
    std::filesystem::path path_;
};

using frames::SharedMemoryError;
using frames::SharedMemoryMapping;

SharedMemoryError::Kind kind_of_open(const ShmFolder& folder, const std::string& name, std::uint64_t length)
{
    try {
        SharedMemoryMapping::open(name, length, folder.path());
    } catch (const SharedMemoryError& e) {
        return e.kind();
    }
    ADD_FAILURE() << "opened " << name;
    return SharedMemoryError::Kind::system;
}

TEST(SharedMemoryMapping, MapsReadOnlyAndSlicesInPlace)
{
    ShmFolder folder;
    folder.create("buffer", 1000, 'a');
    const auto mapping = SharedMemoryMapping::open("buffer", 800, folder.path());
    EXPECT_EQ(mapping.size(), 800u);
    const auto slice = mapping.slice(100, 50);
    EXPECT_EQ(slice.size(), 50u);
    EXPECT_EQ(slice[0], 'a');
    EXPECT_EQ(mapping.slice(0, 800).size(), 800u);
    EXPECT_EQ(mapping.slice(799, 1).size(), 1u);
    // In place: the same bytes, not a copy.
    EXPECT_EQ(mapping.slice(100, 50).data(), slice.data());
}

TEST(SharedMemoryMapping, RefusesRangesOutsideTheMappingWithoutOverflow)
{
    ShmFolder folder;
    folder.create("buffer", 1000);
    const auto mapping = SharedMemoryMapping::open("buffer", 1000, folder.path());
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (const auto& [offset, length] : {std::pair<std::uint64_t, std::uint64_t>{1000, 1}, {999, 2}, {0, 1001},
                                         {max, 1}, {1, max}, {max - 5, 10}, {0, 0}}) {
        EXPECT_THROW(mapping.slice(offset, length), frames::FrameError) << offset << "+" << length;
    }
}

TEST(SharedMemoryMapping, RefusesBadNamesMissingShortAndOddFiles)
{
    ShmFolder folder;
    folder.create("short", 100);
    std::filesystem::create_directory(folder.path() / "folder");
    std::filesystem::create_symlink(folder.path() / "short", folder.path() / "link");
    using Kind = SharedMemoryError::Kind;
    EXPECT_EQ(kind_of_open(folder, "", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "..", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "../short", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "a/b", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "x..y", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "short", 0), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "short", 101), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "folder", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "link", 10), Kind::bad_request);
    EXPECT_EQ(kind_of_open(folder, "missing", 10), Kind::not_found);
    EXPECT_EQ(kind_of_open(folder, "short", std::numeric_limits<std::uint64_t>::max()), Kind::bad_request);
}

TEST(SharedMemoryMapping, PermissionDeniedIsToldApartFromNotFound)
{
    ShmFolder folder;
    folder.create("private", 100);
    ::chmod((folder.path() / "private").c_str(), 0600);
    if (::geteuid() != 0) {
        ::chmod((folder.path() / "private").c_str(), 0);
        EXPECT_EQ(kind_of_open(folder, "private", 10), SharedMemoryError::Kind::permission_denied);
        return;
    }
    // Root reads anything: try as "nobody" in a child process, like an extension running as another user.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
            ::_exit(100);
        }
        try {
            SharedMemoryMapping::open("private", 10, folder.path());
        } catch (const SharedMemoryError& e) {
            ::_exit(static_cast<int>(e.kind()));
        }
        ::_exit(101);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(SharedMemoryError::Kind::permission_denied));
}

TEST(SharedMemoryMapping, MovesAndUnmapsOnce)
{
    ShmFolder folder;
    folder.create("buffer", 4096);
    auto first = SharedMemoryMapping::open("buffer", 4096, folder.path());
    const auto* data = first.slice(0, 1).data();
    SharedMemoryMapping second = std::move(first);
    EXPECT_EQ(second.slice(0, 1).data(), data);
    EXPECT_EQ(first.size(), 0u); // NOLINT(bugprone-use-after-move): moved-from is empty by contract
}

MediaDescriptor raw_descriptor(int pixel_format, std::uint32_t width, std::uint32_t height, std::uint32_t stride,
                               int encoding = Format::RAW)
{
    MediaDescriptor media;
    auto& video = *media.mutable_video_frame_sample_format();
    video.set_encoding(static_cast<Format::Encoding>(encoding));
    video.set_pixel_format(static_cast<Format::PixelFormat>(pixel_format));
    video.mutable_dimensions()->set_width(width);
    video.mutable_dimensions()->set_height(height);
    video.set_stride_bytes(stride);
    return media;
}

grpc::StatusCode code_of(const MediaDescriptor& media)
{
    try {
        grpc_frontend::frame_format_of(media);
        return grpc::StatusCode::OK;
    } catch (const grpc_frontend::StreamError& e) {
        return e.code();
    }
}

TEST(FrameFormat, EveryContractPixelFormatMapsToARawFormat)
{
    for (const int format : {Format::YUV420P, Format::RGB565BE, Format::RGB565LE, Format::RGB555BE, Format::RGB555LE,
                             Format::RGB24, Format::BGR24, Format::ARGB, Format::RGBA, Format::ABGR, Format::BGRA}) {
        EXPECT_TRUE(grpc_frontend::raw_pixel_format_of(format).has_value()) << format;
        EXPECT_EQ(code_of(raw_descriptor(format, 64, 48, 0)), grpc::StatusCode::OK) << format;
    }
    EXPECT_FALSE(grpc_frontend::raw_pixel_format_of(Format::NONE).has_value());
    EXPECT_FALSE(grpc_frontend::raw_pixel_format_of(62).has_value());
}

TEST(FrameFormat, RefusesWhatCannotBeServed)
{
    EXPECT_EQ(code_of(MediaDescriptor{}), grpc::StatusCode::INVALID_ARGUMENT); // no video format
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 64, 48, 0, 4)), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of(raw_descriptor(Format::NONE, 64, 48, 0)), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 0, 48, 0)), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 64, 0, 0)), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 64, 48, 191)), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 64, 48, 192)), grpc::StatusCode::OK);
    EXPECT_EQ(code_of(raw_descriptor(Format::BGR24, 100000, 48, 0)), grpc::StatusCode::INVALID_ARGUMENT);
    // Compressed images may leave their size to the image, but not half of it.
    EXPECT_EQ(code_of(raw_descriptor(Format::NONE, 0, 0, 0, Format::JPG)), grpc::StatusCode::OK);
    EXPECT_EQ(code_of(raw_descriptor(Format::NONE, 64, 0, 0, Format::PNG)), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(FrameFormat, RawSamplesAreWrappedInPlace)
{
    const auto format = grpc_frontend::frame_format_of(raw_descriptor(Format::RGB24, 4, 2, 16));
    EXPECT_EQ(format.analyzer_format, AVA_PIXEL_FORMAT_RGB24);
    EXPECT_EQ(format.describe(), "RAW rgb24 4x2 stride 16");
    MediaSample sample;
    sample.set_timestamp(77);
    sample.mutable_content_bytes()->set_bytes(std::string(32, '\x10'));
    const auto frame = grpc_frontend::frame_of(sample, format, nullptr);
    EXPECT_EQ(frame.image.data, reinterpret_cast<const std::uint8_t*>(sample.content_bytes().bytes().data()));
    EXPECT_EQ(frame.image.step[0], 16u);
    EXPECT_EQ(frame.timestamp, 77u);
    EXPECT_EQ(frame.format, AVA_PIXEL_FORMAT_RGB24);
}

TEST(FrameFormat, SharedMemorySamplesPointIntoTheMapping)
{
    ShmFolder folder;
    folder.create("frames", 64, '\x20');
    const auto mapping = SharedMemoryMapping::open("frames", 64, folder.path());
    const auto format = grpc_frontend::frame_format_of(raw_descriptor(Format::BGR24, 2, 2, 0));
    MediaSample sample;
    sample.mutable_content_reference()->set_address_offset(16);
    sample.mutable_content_reference()->set_length_bytes(12);
    const auto frame = grpc_frontend::frame_of(sample, format, &mapping);
    EXPECT_EQ(frame.image.data, mapping.slice(16, 12).data());
    EXPECT_THROW(grpc_frontend::frame_of(sample, format, nullptr), frames::FrameError);
    sample.mutable_content_reference()->set_address_offset(60);
    EXPECT_THROW(grpc_frontend::frame_of(sample, format, &mapping), frames::FrameError);
}

TEST(ProtoWriter, WritesEveryKindAndReusesElements)
{
    using namespace inferences;
    InferenceList list;
    Inference classification;
    classification.subtype = "colorIntensity";
    classification.attributes = {{"a", "b", 0.5f}, {"c", "d", std::nullopt}};
    classification.value = Classification{"dark", 0.9f};
    list.push_back(classification);
    Inference entity;
    entity.inference_id = "e1";
    entity.related_inferences = {"x"};
    entity.extensions = {{"k", "v"}};
    entity.value = Entity{"person", std::nullopt, Box{0.1f, 0.2f, 0.3f, 0.4f}, "id-1"};
    list.push_back(entity);
    Inference motion;
    motion.value = Motion{Box{0, 0, 1, 1}};
    list.push_back(motion);
    Inference event;
    event.value = Event{"happened", {{"p", "q"}}};
    list.push_back(event);
    Inference text;
    text.value = Text{"hi", "en", 1, 2};
    list.push_back(text);
    Inference other;
    other.value = Other{"application/octet-stream", std::string("\0\1\2", 3)};
    list.push_back(other);

    google::protobuf::RepeatedPtrField<proto::Inference> out;
    to_proto(list, out);
    ASSERT_EQ(out.size(), 6);
    EXPECT_EQ(out[0].type(), proto::Inference::CLASSIFICATION);
    EXPECT_EQ(out[0].subtype(), "colorIntensity");
    EXPECT_EQ(out[0].classification().tag().value(), "dark");
    EXPECT_FLOAT_EQ(out[0].classification().tag().confidence(), 0.9f);
    ASSERT_EQ(out[0].classification().attributes_size(), 2);
    EXPECT_FLOAT_EQ(out[0].classification().attributes(1).confidence(), 0.0f);
    EXPECT_EQ(out[1].type(), proto::Inference::ENTITY);
    EXPECT_EQ(out[1].inference_id(), "e1");
    EXPECT_EQ(out[1].related_inferences(0), "x");
    EXPECT_EQ(out[1].extensions().at("k"), "v");
    EXPECT_EQ(out[1].entity().id(), "id-1");
    EXPECT_FLOAT_EQ(out[1].entity().box().h(), 0.4f);
    EXPECT_EQ(out[2].type(), proto::Inference::MOTION);
    EXPECT_FLOAT_EQ(out[2].motion().box().w(), 1.0f);
    EXPECT_EQ(out[3].type(), proto::Inference::EVENT);
    EXPECT_EQ(out[3].event().properties().at("p"), "q");
    EXPECT_EQ(out[4].type(), proto::Inference::TEXT);
    EXPECT_EQ(out[4].text().end_timestamp(), 2u);
    EXPECT_EQ(out[5].type(), proto::Inference::OTHER);
    EXPECT_EQ(out[5].other().content_bytes(), std::string("\0\1\2", 3));

    // A second, shorter list reuses the elements and leaves nothing of the first behind.
    const auto* first_element = &out[0];
    to_proto(InferenceList{motion}, out);
    ASSERT_EQ(out.size(), 1);
    EXPECT_EQ(&out[0], first_element);
    EXPECT_EQ(out[0].type(), proto::Inference::MOTION);
    EXPECT_FALSE(out[0].has_classification());
    EXPECT_EQ(out[0].subtype(), "");
}

} // namespace
} // namespace ava
