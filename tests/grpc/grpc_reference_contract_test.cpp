// The "done when": a client generated from the published AVA contract — the independent copy in
// ava_reference_contract/, not our proto/ — runs a full session against the host: descriptor, then 100
// frames over shared memory, each acknowledged with the colour intensity classification. And the two
// copies of the contract describe the same wire format, field by field.
#include "host_process.h"
#include "stream_client.h"

#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <fstream>
#include <set>

namespace ava::test {
namespace {

namespace pb = google::protobuf;

TEST(ReferenceContractClient, FullSessionOfHundredSharedMemoryFrames)
{
    HostProcess host({"--no-http"});
    const auto result = run_shared_memory_session(make_channel(host.grpc_port()), 100, "reference-client");
    EXPECT_EQ(result.error, "");
    ASSERT_EQ(result.replies.size(), 100u);
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.descriptor_reply.sequence_number(), 1u);
    EXPECT_EQ(result.descriptor_reply.ack_sequence_number(), 1u);
    EXPECT_FALSE(result.descriptor_reply.media_stream_descriptor().extension_identifier().empty());
    for (std::size_t i = 0; i < result.replies.size(); ++i) {
        const auto& reply = result.replies[i];
        EXPECT_EQ(reply.ack_sequence_number(), 2 + i);
        EXPECT_EQ(intensity_of(reply), i % 2 == 0 ? "dark" : "light") << "frame " << i;
    }
}

// A pool built from a protoc --descriptor_set_out --include_imports file (dependencies come first).
class ContractPool {
public:
    explicit ContractPool(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        pb::FileDescriptorSet set;
        if (!set.ParseFromIstream(&in)) {
            throw std::runtime_error("cannot read descriptor set " + path);
        }
        for (const auto& file : set.file()) {
            if (pool_.BuildFile(file) == nullptr) {
                throw std::runtime_error("cannot build " + file.name() + " from " + path);
            }
            files_.push_back(file.name());
        }
    }
    const pb::DescriptorPool& pool() const { return pool_; }
    const std::vector<std::string>& files() const { return files_; }

private:
    pb::DescriptorPool pool_;
    std::vector<std::string> files_;
};

std::string type_of(const pb::FieldDescriptor& field)
{
    std::string text = field.type_name();
    if (field.message_type() != nullptr) {
        text += " " + field.message_type()->full_name();
    }
    if (field.enum_type() != nullptr) {
        text += " " + field.enum_type()->full_name();
    }
    if (field.is_repeated()) {
        text = "repeated " + text;
    }
    if (field.is_map()) {
        text += " (map)";
    }
    if (field.containing_oneof() != nullptr) {
        text += " in oneof " + field.containing_oneof()->name();
    }
    return text;
}

void compare_enums(const pb::EnumDescriptor& reference, const pb::EnumDescriptor* ours)
{
    ASSERT_NE(ours, nullptr) << "proto/ lacks enum " << reference.full_name();
    std::set<std::pair<std::string, int>> a, b;
    for (int i = 0; i < reference.value_count(); ++i) {
        a.emplace(reference.value(i)->name(), reference.value(i)->number());
    }
    for (int i = 0; i < ours->value_count(); ++i) {
        b.emplace(ours->value(i)->name(), ours->value(i)->number());
    }
    EXPECT_EQ(a, b) << reference.full_name();
}

void compare_messages(const pb::Descriptor& reference, const pb::Descriptor* ours)
{
    ASSERT_NE(ours, nullptr) << "proto/ lacks message " << reference.full_name();
    EXPECT_EQ(reference.field_count(), ours->field_count()) << reference.full_name();
    for (int i = 0; i < reference.field_count(); ++i) {
        const auto& field = *reference.field(i);
        const auto* mine = ours->FindFieldByNumber(field.number());
        ASSERT_NE(mine, nullptr) << reference.full_name() << " field " << field.number() << " missing in proto/";
        EXPECT_EQ(field.name(), mine->name()) << reference.full_name() << " field " << field.number();
        EXPECT_EQ(type_of(field), type_of(*mine)) << reference.full_name() << "." << field.name();
    }
    for (int i = 0; i < reference.nested_type_count(); ++i) {
        compare_messages(*reference.nested_type(i), ours->FindNestedTypeByName(reference.nested_type(i)->name()));
    }
    EXPECT_EQ(reference.enum_type_count(), ours->enum_type_count()) << reference.full_name();
    for (int i = 0; i < reference.enum_type_count(); ++i) {
        compare_enums(*reference.enum_type(i), ours->FindEnumTypeByName(reference.enum_type(i)->name()));
    }
}

TEST(ReferenceContract, OurProtoHasTheSameWireFormat)
{
    const ContractPool reference(AVA_REFERENCE_DESCRIPTOR_SET);
    const ContractPool ours(AVA_OUR_DESCRIPTOR_SET);
    EXPECT_EQ(std::set<std::string>(reference.files().begin(), reference.files().end()),
              std::set<std::string>(ours.files().begin(), ours.files().end()));
    int messages = 0;
    for (const auto& name : reference.files()) {
        const auto* file = reference.pool().FindFileByName(name);
        const auto* mine = ours.pool().FindFileByName(name);
        ASSERT_NE(mine, nullptr) << name;
        EXPECT_EQ(file->package(), mine->package());
        EXPECT_EQ(file->message_type_count(), mine->message_type_count()) << name;
        for (int i = 0; i < file->message_type_count(); ++i) {
            compare_messages(*file->message_type(i), ours.pool().FindMessageTypeByName(file->message_type(i)->full_name()));
            ++messages;
        }
        EXPECT_EQ(file->service_count(), mine->service_count()) << name;
        for (int i = 0; i < file->service_count(); ++i) {
            const auto& service = *file->service(i);
            const auto* my_service = ours.pool().FindServiceByName(service.full_name());
            ASSERT_NE(my_service, nullptr) << service.full_name();
            ASSERT_EQ(service.method_count(), my_service->method_count());
            for (int m = 0; m < service.method_count(); ++m) {
                const auto& method = *service.method(m);
                const auto* my_method = my_service->FindMethodByName(method.name());
                ASSERT_NE(my_method, nullptr) << method.full_name();
                EXPECT_EQ(method.input_type()->full_name(), my_method->input_type()->full_name());
                EXPECT_EQ(method.output_type()->full_name(), my_method->output_type()->full_name());
                EXPECT_EQ(method.client_streaming(), my_method->client_streaming());
                EXPECT_EQ(method.server_streaming(), my_method->server_streaming());
            }
        }
    }
    EXPECT_EQ(messages, 20); // every message of the contract was compared
}

} // namespace
} // namespace ava::test
