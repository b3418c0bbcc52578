// SHA-256 of the upstream files, from ../shared/data/SHA256SUMS (byte-for-byte upstream copies). The
// UKPConvArg1Strict CSVs are stored gzipped there, so their values are the SHA-256 of the gunzipped bytes
// (recomputed here and equal to ukpconvarg1/UKPConvArg1Strict-CSV.sha256-uncompressed). Generated once; the
// real-data test re-derives every value from the shared copies, so a wrong entry fails CI.

/** [file name, sha256] for data/UKPConvArg1Strict-CSV/*.csv (uncompressed). */
export const UKP_STRICT_SHA256: ReadonlyArray<readonly [string, string]> = [
  [
    "ban-plastic-water-bottles_no-bad-for-the-economy.csv",
    "d1efc6d3f08a0167d6b71cf8f50ccb9d89da8e353162a712629dbaddee9fc883",
  ],
  [
    "ban-plastic-water-bottles_yes-emergencies-only.csv",
    "f1b594fcd3feb274a819b9bdd59673034f555d89acbabe7c0b40adcfc8df13de",
  ],
  ["christianity-or-atheism-_atheism.csv", "c9784346115d1275cab5fb6288a635e5a67b32110d73b2677629263e38a2f16e"],
  ["christianity-or-atheism-_christianity.csv", "e90ce4eabeb3c6a34ad772e34ba7f5255364fa27cd87eaf2406824af401e1dcb"],
  ["evolution-vs-creation_creation.csv", "722c40b9b2e6725036fcaca243fe7421deedf253f939a66a2c332e8a8395406b"],
  ["evolution-vs-creation_evolution.csv", "0b8218b8b9bb8c3d7660a8b6008ddefc081c1d301de329dc7af796ab55f3a563"],
  [
    "firefox-vs-internet-explorer_it-has-a-cute-logo-oh-and-extensions-err-add-ons.csv",
    "9a33cbec5bcb9f3651bc3747117ed1faa9b7c3cf93a86a3ba3bab9d3435898b1",
  ],
  [
    "firefox-vs-internet-explorer_there-s-more-browsers-than-the-ie-firefox-is-an-animal.csv",
    "101719aae383d31cc05195524a8a79efacca767268bf91c1f7ad2be5aca8cacd",
  ],
  [
    "gay-marriage-right-or-wrong_allowing-gay-marriage-is-right.csv",
    "c504170720075bb247bf857b4a74e2a0006e227874d41a365d4cf742143af02c",
  ],
  [
    "gay-marriage-right-or-wrong_allowing-gay-marriage-is-wrong.csv",
    "2759c1ad9c0748a1fa8cbbf6166e104b9a731d46c007eec9221746ec78a27fd2",
  ],
  [
    "human-growth-and-development-should-parents-use-spanking-as-an-option-to-discipline-_no.csv",
    "7a3ac8558be74f3f4f085293d545800f866f66b0b8cfdf8702c1d32b70dfe7a8",
  ],
  [
    "human-growth-and-development-should-parents-use-spanking-as-an-option-to-discipline-_yes.csv",
    "103403421f41b18f102954f9a8968aa18a6edf759379cccec19e2dcd10af8d71",
  ],
  [
    "if-your-spouse-committed-murder-and-he-or-she-confided-in-you-would-you-turn-them-in-_no.csv",
    "924bbb29b79990b196ac2f17c25a8a5ada2c1eb44369052ad006731f272459ea",
  ],
  [
    "if-your-spouse-committed-murder-and-he-or-she-confided-in-you-would-you-turn-them-in-_yes.csv",
    "c8c5ed3510f842aa60d4935f3137293637b2a8c775788ccbe00ac925d625d45d",
  ],
  [
    "india-has-the-potential-to-lead-the-world-_no-against.csv",
    "fc5d6699740e343606133afd9cb8eb5e44accaf9ddca5502c41809d40592d4d5",
  ],
  [
    "india-has-the-potential-to-lead-the-world-_yes-for.csv",
    "5183a1587bb9c688f13da61efe8247e1c0833d459ed59cc79c0e9ceac9bbc4b3",
  ],
  [
    "is-it-better-to-have-a-lousy-father-or-to-be-fatherless-_fatherless.csv",
    "90ea69a4800eebc6aec6935dccc72d592bae2ea3acf0b8a199cb43552be2948d",
  ],
  [
    "is-it-better-to-have-a-lousy-father-or-to-be-fatherless-_lousy-father.csv",
    "129e2e19214db77b98a04feb66a4e85c3d78cc494b0dfb1b3d099c3e37ef0b6a",
  ],
  ["is-porn-wrong-_no-is-is-not.csv", "b6b30bede4567c84dbc2ec8db0c6acb74f818d2685534e8d09d35f48c3f230fe"],
  ["is-porn-wrong-_yes-porn-is-wrong.csv", "1a827506b88b7f5d7ce1a781cb935d4fe3f019b79b83bd2a778526e10c9ff6f1"],
  [
    "is-the-school-uniform-a-good-or-bad-idea-_bad.csv",
    "7ebb532dcaedd836a7a96a65a7cc45bb10e92d49fd7d94a265795ecf68e1927a",
  ],
  [
    "is-the-school-uniform-a-good-or-bad-idea-_good.csv",
    "db2948b209b9d59e8aa256aa020dcc7bd53581ede762f403e2550d7eb60dad1e",
  ],
  [
    "personal-pursuit-or-advancing-the-common-good-_advancing-the-commond-good.csv",
    "4e0dcc10f2e9c360f0786aeb1545440943794c65c290d4f4d144c7ab22420748",
  ],
  [
    "personal-pursuit-or-advancing-the-common-good-_personal-pursuit.csv",
    "3ddb7f9b04425a02eaff86394b02ef3a516317457283bc4ba84cf38bb6048e0a",
  ],
  ["pro-choice-vs-pro-life_pro-choice.csv", "7f98ca0c5eec48782c1ce6d43aefad41428c82cb3bb0ed2b8cda48c7a035352f"],
  ["pro-choice-vs-pro-life_pro-life.csv", "648586dff1eb6e4c22d7eb528cca79219daecc9b99906c8bae59f810bf532585"],
  [
    "should-physical-education-be-mandatory-in-schools-_no-.csv",
    "9fa60eee8b161ff400b0b88b01c3e6a1b44bedc4795eea4a75c7089b784e7c16",
  ],
  [
    "should-physical-education-be-mandatory-in-schools-_yes-.csv",
    "133e27fb57352eeb1bc71638051536546cabc84b90bff4f7e6d7313da944176c",
  ],
  ["tv-is-better-than-books_books.csv", "2d8b8247570aab28837febfdfdd7324f4e1fac2efe58a77d7fc355c89509642f"],
  ["tv-is-better-than-books_tv.csv", "76677ba0814e95380b1f5b9a459670fd3e71ad1f5cb02ecc7ac094e3f5dfb58e"],
  [
    "william-farquhar-ought-to-be-honoured-as-the-rightful-founder-of-singapore_no-it-is-raffles-.csv",
    "112defbb0e49db425a7ed3e28de9a5b133c17f739fa9d0b8d08c9ee00facf785",
  ],
  [
    "william-farquhar-ought-to-be-honoured-as-the-rightful-founder-of-singapore_yes-of-course-.csv",
    "67addb83292e7e2d638edac70d2cc670e0b3d7ec19f57b101c8fd9ff975bab4e",
  ],
];

/** [file name, sha256] for data/UKPConvArg1-Ranking-CSV/*.csv. */
export const UKP_RANKING_SHA256: ReadonlyArray<readonly [string, string]> = [
  [
    "ban-plastic-water-bottles_no-bad-for-the-economy.csv",
    "09b22038bcf7c1848096887a8c27970760abd0c09586b49c9b635f5d1dec94bc",
  ],
  [
    "ban-plastic-water-bottles_yes-emergencies-only.csv",
    "b355cc200f43ecce6a9c96fe7b237be0cfd60ee531e480fcc894d17ea682c313",
  ],
  ["christianity-or-atheism-_atheism.csv", "b453cc85e42b4245269e991270cd777ef102ad82209e2c526cc633730e7d5447"],
  ["christianity-or-atheism-_christianity.csv", "b7d46ad8d143eaa33809f3abd6236af78d5557bd3ab7502c6522c180b8b0ff6c"],
  ["evolution-vs-creation_creation.csv", "1c28ff014cbc091abaa0b3d81fd0c94087c7f456ce13550727065f2c7e8d93d5"],
  ["evolution-vs-creation_evolution.csv", "f4c5689c656a1b9a5f1f73f610108773f996fc182ee4248c5d3e974c6668b11a"],
  [
    "firefox-vs-internet-explorer_it-has-a-cute-logo-oh-and-extensions-err-add-ons.csv",
    "20019d0a1e120b631ad64b2448ba5f3a9f29df000a079966214607e1e2b25186",
  ],
  [
    "firefox-vs-internet-explorer_there-s-more-browsers-than-the-ie-firefox-is-an-animal.csv",
    "716be060eaff39ef76c88acba7be33dec83a328a14abcb1bff5aa3c17fbecbd8",
  ],
  [
    "gay-marriage-right-or-wrong_allowing-gay-marriage-is-right.csv",
    "09a7dc07380d4da41ad7d0a53b9120114ee68550b2de96b2a4f11e575d6a2c49",
  ],
  [
    "gay-marriage-right-or-wrong_allowing-gay-marriage-is-wrong.csv",
    "883f136bf1f8078b3d4270647b7adc8608971ea4775ed0fa12cf615bc463afac",
  ],
  [
    "human-growth-and-development-should-parents-use-spanking-as-an-option-to-discipline-_no.csv",
    "918ac04ff8d839c15a8939aaaea208492e2527c236b8df24de84540a145f2090",
  ],
  [
    "human-growth-and-development-should-parents-use-spanking-as-an-option-to-discipline-_yes.csv",
    "7ef41ff4349dcdab27374b92d805f27602dedcf40fc687e8250b9874ede39fb8",
  ],
  [
    "if-your-spouse-committed-murder-and-he-or-she-confided-in-you-would-you-turn-them-in-_no.csv",
    "625a6b8567a415baab97a5f37aec6da623256029dca38a34d5ac938bad19a2f8",
  ],
  [
    "if-your-spouse-committed-murder-and-he-or-she-confided-in-you-would-you-turn-them-in-_yes.csv",
    "93c8cefbd26b17b84510f6ccc0cea3e2b7e2cf8632e0eace9b427a946ab5730d",
  ],
  [
    "india-has-the-potential-to-lead-the-world-_no-against.csv",
    "4b3d4e8844ed1c3a5ad58cb0b2306e625fc55e72155f56ab309bae57c30d3973",
  ],
  [
    "india-has-the-potential-to-lead-the-world-_yes-for.csv",
    "4f1f70637776e128b371d37fc617a2a61024e958d002e676484e4393e4351154",
  ],
  [
    "is-it-better-to-have-a-lousy-father-or-to-be-fatherless-_fatherless.csv",
    "b614cd0b7b525129efbc3da02ae5044488da02a0231fb94113e1b5762dc91b23",
  ],
  [
    "is-it-better-to-have-a-lousy-father-or-to-be-fatherless-_lousy-father.csv",
    "ea1cf653a83868a6543b9c9b556cb0ec5cbfcb5cdff7191fc7cbcd922174e6f4",
  ],
  ["is-porn-wrong-_no-is-is-not.csv", "62c6592da00dfeace39fc229ea7aebac0e183af51358e059a888ff00f9a47911"],
  ["is-porn-wrong-_yes-porn-is-wrong.csv", "4a411cc48a12dda7ab4e0eb265f3d94dfee096ce380435d3a04a77fb3c6c048c"],
  [
    "is-the-school-uniform-a-good-or-bad-idea-_bad.csv",
    "f9e325e02839ca069e4661474f474fd1a72ae0ca37f4938351d1082c77066106",
  ],
  [
    "is-the-school-uniform-a-good-or-bad-idea-_good.csv",
    "c8da2747acfd769a3604b132bbeda17fc1b13d8567828cbaf560669077f170c8",
  ],
  [
    "personal-pursuit-or-advancing-the-common-good-_advancing-the-common-good.csv",
    "acdc78f9800faf2869b39fd113e0816fe94f46cf9781b4dab9d700378cba1a9d",
  ],
  [
    "personal-pursuit-or-advancing-the-common-good-_personal-pursuit.csv",
    "abbd81f9cefea4ac23170ea5c71af0c1d139748c2191e918bdb7e238ff7b27f2",
  ],
  ["pro-choice-vs-pro-life_pro-choice.csv", "d85453e77ef9d5f88ab47bf14f0eeb07f45c115dd421b52d322a5e77673e7006"],
  ["pro-choice-vs-pro-life_pro-life.csv", "0d9f04b47e03bc6054ee3fe8359d33b84bd90e4b985034f1b0080f8b29f7817b"],
  [
    "should-physical-education-be-mandatory-in-schools-_no-.csv",
    "f172a6ef7a3817c4d14c550adb6b5689a766ce052ba8d10ec3e4ab1fba4f118f",
  ],
  [
    "should-physical-education-be-mandatory-in-schools-_yes-.csv",
    "0ee5ada5bfbcd39c99a4709c3f3976f30e9f4096086a12e88836873ed3bb7fd6",
  ],
  ["tv-is-better-than-books_books.csv", "0befe790292122bce7c48b9ca8058450b107202243b1dcd38bef7be87085bcea"],
  ["tv-is-better-than-books_tv.csv", "75b337c4e31ddc353fb1e25e3b49161291eb0684c97bf78b6b688bc60562a457"],
  [
    "william-farquhar-ought-to-be-honoured-as-the-rightful-founder-of-singapore_no-it-is-raffles-.csv",
    "b500683ca890c705a6780117804c6334403bf6026cd76e73c7302a70d8f97945",
  ],
  [
    "william-farquhar-ought-to-be-honoured-as-the-rightful-founder-of-singapore_yes-of-course-.csv",
    "5f692b6f8cd385f1615f819366e750110f0b78a4e1684645d357743bc5e3da09",
  ],
];

/** hh-rlhf/harmless-base/test.jsonl.gz */
export const HH_HARMLESS_TEST_SHA256 = "ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03";
/** rt-polarity/rt-polarity.pos */
export const RT_POLARITY_POS_SHA256 = "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0";
/** rt-polarity/rt-polarity.neg */
export const RT_POLARITY_NEG_SHA256 = "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca";

/**
 * rt-polaritydata.tar.gz as Cornell serves it (487,770 bytes), from Hugging Face datasets'
 * rotten_tomatoes/dataset_infos.json (download_checksums). Not re-derivable here: ../shared/data holds
 * the two extracted members, not the archive.
 */
export const RT_POLARITY_ARCHIVE_SHA256 = "a05befe52aafda71d458d188a1c54506a998b1308613ba76bbda2e5029409ce9";
