// Fuzz target: what an analyzer worker process sends back (isolation/result_log.h). A worker runs untrusted
// plugin code, so the host reads its recorded result log as hostile input: replay() must throw WireError on
// anything malformed (lying counts and lengths, unknown kinds, truncation) and never read out of bounds;
// whatever it does replay goes through the host's own InferenceCollector and must write as valid JSON.
#include "inferences/inference_collector.h"
#include "inferences/json_writer.h"
#include "isolation/result_log.h"

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    ava::inferences::InferenceCollector collector("fuzz");
    try {
        ava::isolation::replay(std::string_view(reinterpret_cast<const char*>(data), size), collector.sink());
    } catch (const ava::isolation::WireError&) {
        return 0; // refused: the frame would end as the analyzer's error
    }
    try {
        const auto json = ava::inferences::to_json(collector.take());
        rapidjson::Document doc;
        if (doc.Parse(json.c_str()).HasParseError()) {
            std::abort(); // a replayed answer the host would send as broken JSON
        }
    } catch (const ava::inferences::AnswerTooLarge&) {
    }
    return 0;
}
