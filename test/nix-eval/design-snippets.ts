/**
 * Snippets of the seed design (ARCHITECTURE.md) that more than one test pastes: evaluated
 * in design-examples.test.ts, built in test/integration/design-validators.test.ts.
 */

/** §15.4: extending a preset with validators, one of them a script that reads config.json with jq. */
export const extendedStandardValidation = `presets.standard // {
          validators = presets.standard.validators ++ [
            (validators.maxSize "10G")
            (validators.requiredFiles [ "config.json" "tokenizer.json" ])
            (validators.custom {
              name = "check-vocab-size";
              script = ''
                vocab_size=$(jq '.vocab_size' $src/config.json)
                if [[ $vocab_size -gt 100000 ]]; then
                  echo "WARNING: Large vocabulary size: $vocab_size" >&2
                fi
              '';
              onFailure = "warn";
            })
          ];
        }`;
