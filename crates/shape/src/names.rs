//! The API's names for models: `Post` is served at `/api/posts`.

/// `Post` → `posts`, `QuizQuestion` → `quiz-questions`, `Category` → `categories`.
pub fn resource_name(model: &str) -> String {
    let mut kebab = String::with_capacity(model.len() + 4);
    let chars: Vec<char> = model.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower =
                i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || before_lower {
                kebab.push('-');
            }
            kebab.extend(c.to_lowercase());
        } else if c == '_' {
            kebab.push('-');
        } else {
            kebab.push(c);
        }
    }
    pluralize(&kebab)
}

/// A word's plural, as resource names and generated hook names (`usePosts`) take it.
pub fn pluralize(word: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    if word.ends_with('s') || word.ends_with('x') || word.ends_with('z') || word.ends_with("ch") || word.ends_with("sh")
    {
        format!("{word}es")
    } else if word.ends_with('y') && word.chars().rev().nth(1).is_some_and(|c| !vowel(c)) {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::resource_name;

    #[test]
    fn resource_names() {
        assert_eq!(resource_name("Post"), "posts");
        assert_eq!(resource_name("QuizQuestion"), "quiz-questions");
        assert_eq!(resource_name("Category"), "categories");
        assert_eq!(resource_name("Day"), "days");
        assert_eq!(resource_name("Box"), "boxes");
        assert_eq!(resource_name("Address"), "addresses");
        assert_eq!(resource_name("APIKey"), "api-keys");
        assert_eq!(resource_name("user_profile"), "user-profiles");
    }
}
