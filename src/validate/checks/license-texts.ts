/**
 * Recognises a few licence texts that models ship as LICENSE files or Ollama licence
 * layers, by phrases the texts themselves contain, and names them as the Hub does.
 * Anything else is "unrecognised": present, but not checkable against an allow list.
 * More specific texts come first (AGPL before GPL, Llama 3.1 before Llama 3).
 */
const TEXTS: ReadonlyArray<{ readonly id: string; readonly matches: (text: string) => boolean }> = [
  { id: "apache-2.0", matches: (t) => /Apache License/i.test(t) && /Version 2\.0/i.test(t) },
  {
    id: "mit",
    matches: (t) =>
      /Permission is hereby granted, free of charge/i.test(t) && /THE SOFTWARE IS PROVIDED "AS IS"/i.test(t),
  },
  {
    id: "bsd-3-clause",
    matches: (t) => /Redistribution and use in source and binary forms/i.test(t) && /Neither the name/i.test(t),
  },
  { id: "bsd-2-clause", matches: (t) => /Redistribution and use in source and binary forms/i.test(t) },
  { id: "agpl-3.0", matches: (t) => /GNU AFFERO GENERAL PUBLIC LICENSE/i.test(t) && /Version 3/i.test(t) },
  { id: "lgpl-3.0", matches: (t) => /GNU LESSER GENERAL PUBLIC LICENSE/i.test(t) && /Version 3/i.test(t) },
  { id: "gpl-3.0", matches: (t) => /GNU GENERAL PUBLIC LICENSE/i.test(t) && /Version 3/i.test(t) },
  { id: "gpl-2.0", matches: (t) => /GNU GENERAL PUBLIC LICENSE/i.test(t) && /Version 2/i.test(t) },
  { id: "cc-by-nc-sa-4.0", matches: (t) => /Attribution-NonCommercial-ShareAlike 4\.0 International/i.test(t) },
  { id: "cc-by-nc-4.0", matches: (t) => /Attribution-NonCommercial 4\.0 International/i.test(t) },
  { id: "cc-by-sa-4.0", matches: (t) => /Attribution-ShareAlike 4\.0 International/i.test(t) },
  { id: "cc-by-4.0", matches: (t) => /Attribution 4\.0 International/i.test(t) },
  { id: "llama3.3", matches: (t) => /Llama 3\.3 Community License/i.test(t) },
  { id: "llama3.2", matches: (t) => /Llama 3\.2 Community License/i.test(t) },
  { id: "llama3.1", matches: (t) => /Llama 3\.1 Community License/i.test(t) },
  { id: "llama3", matches: (t) => /Llama 3 Community License/i.test(t) },
  { id: "llama2", matches: (t) => /Llama 2 Community License/i.test(t) },
  { id: "gemma", matches: (t) => /Gemma Terms of Use/i.test(t) },
];

export function recogniseLicenseText(text: string): string | null {
  return TEXTS.find((known) => known.matches(text))?.id ?? null;
}
